package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Image repositories; every build is tagged <repo>:<content hash> and
// <repo>:local (the tag compose/docker-compose.yml uses by default).
const (
	MockAWSRepo   = "cascade/mockaws"
	ToxiproxyRepo = "cascade/toxiproxy"
	LocalTag      = "local"
)

// toxiproxyPkg is the toxiproxy server the proxy image runs.
const toxiproxyPkg = "github.com/Shopify/toxiproxy/v2/cmd/server"

// Images names the images a stack runs.
type Images struct {
	MockAWS   string // cascade/mockaws:<hash>
	Toxiproxy string // cascade/toxiproxy:<hash>
	// Built lists the images this call built (empty when all were present).
	Built []string
	// Took is how long EnsureImages took, hashing included.
	Took time.Duration
}

// ImageOption configures EnsureImages.
type ImageOption func(*imageOptions) error

type imageOptions struct {
	repoDir string
	force   bool
	log     io.Writer
}

// WithRepoDir names the module's root directory (default: found from the
// working directory upwards by its go.mod).
func WithRepoDir(dir string) ImageOption {
	return func(o *imageOptions) error { o.repoDir = dir; return nil }
}

// WithForce rebuilds the images even when their tags exist.
func WithForce(force bool) ImageOption {
	return func(o *imageOptions) error { o.force = force; return nil }
}

// WithBuildLog writes progress and the engine's build output to w.
func WithBuildLog(w io.Writer) ImageOption {
	return func(o *imageOptions) error {
		if w == nil {
			w = io.Discard
		}
		o.log = w
		return nil
	}
}

// modulePath is the module whose root RepoDir looks for.
const modulePath = "github.com/cascade-lab/cascade"

// RepoDir finds the module's root from the working directory upwards, so
// tests (run in their package directory) and the CLI agree.
func RepoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find %s: no go.mod of it above the working directory", modulePath)
		}
		dir = parent
	}
}

// imageSpec is one image EnsureImages makes.
type imageSpec struct {
	name       string // mockaws, toxiproxy
	repo       string
	dockerfile string // under compose/
	binary     string // file name in the build context
	hash       string
	build      func(ctx context.Context, out string) error
}

// EnsureImages makes sure cascade/mockaws and cascade/toxiproxy exist for
// the current code, building what is missing. In the cascade binary
// (FromExecutable) and without WithRepoDir, the static running executable
// is the images' only file, tagged by its hash (see FromExecutable).
// Otherwise it builds from the module source: it hashes go.mod, go.sum and
// every .go file of this module that cmd/mockaws depends on (go list
// -deps), compiles the static binaries (CGO_ENABLED=0) into
// compose/.build and builds FROM scratch images from compose/*.Dockerfile,
// tagged <repo>:<hash> and <repo>:local. Builds of concurrent processes
// are serialized by a lock file, so two test binaries do not compile twice.
func EnsureImages(ctx context.Context, cli client.APIClient, opts ...ImageOption) (Images, error) {
	start := time.Now()
	o := imageOptions{log: io.Discard}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return Images{}, err
		}
	}
	if o.repoDir == "" && fromExecutable {
		imgs, done, err := ensureFromExecutable(ctx, cli, o, start)
		if done {
			return imgs, err
		}
	}
	if o.repoDir == "" {
		dir, err := RepoDir()
		if err != nil {
			return Images{}, err
		}
		o.repoDir = dir
	}
	specs, err := imageSpecs(ctx, o.repoDir)
	if err != nil {
		return Images{}, err
	}
	buildDir := filepath.Join(o.repoDir, "compose", ".build")
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return Images{}, err
	}
	unlock, err := lockFile(ctx, filepath.Join(buildDir, ".lock"))
	if err != nil {
		return Images{}, err
	}
	defer unlock()

	var imgs Images
	for _, s := range specs {
		ref := s.repo + ":" + s.hash
		if ok, err := upToDate(ctx, cli, o, s, &imgs); ok || err != nil {
			if err != nil {
				return imgs, err
			}
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(o.log, "building %s: go build\n", ref)
		bin := filepath.Join(buildDir, s.binary)
		if err := s.build(ctx, bin); err != nil {
			return imgs, fmt.Errorf("build %s: %w", s.name, err)
		}
		fmt.Fprintf(o.log, "building %s: docker build (go build took %v)\n", ref, time.Since(t0).Round(time.Millisecond))
		df, err := os.ReadFile(filepath.Join(o.repoDir, "compose", s.dockerfile))
		if err != nil {
			return imgs, fmt.Errorf("build %s: %w", s.name, err)
		}
		if err := dockerBuild(ctx, cli, df, bin, s, o.log); err != nil {
			return imgs, fmt.Errorf("build %s: %w", s.name, err)
		}
		imgs.Built = append(imgs.Built, ref)
		fmt.Fprintf(o.log, "built %s in %v\n", ref, time.Since(t0).Round(time.Millisecond))
	}
	imgs.Took = time.Since(start)
	return imgs, nil
}

// upToDate records s's reference in imgs and reports whether it need not
// be built: its tag exists and WithForce is off (it is tagged :local again).
func upToDate(ctx context.Context, cli client.APIClient, o imageOptions, s imageSpec, imgs *Images) (bool, error) {
	ref := s.repo + ":" + s.hash
	if s.name == "mockaws" {
		imgs.MockAWS = ref
	} else {
		imgs.Toxiproxy = ref
	}
	if o.force || !imageExists(ctx, cli, ref) {
		return false, nil
	}
	fmt.Fprintf(o.log, "image %s is up to date\n", ref)
	return true, tag(ctx, cli, ref, s.repo+":"+LocalTag)
}

func imageSpecs(ctx context.Context, repo string) ([]imageSpec, error) {
	goVersion, err := goOutput(ctx, repo, "env", "GOVERSION")
	if err != nil {
		return nil, err
	}
	goVersion = strings.TrimSpace(goVersion)

	mockHash, err := mockawsHash(ctx, repo, goVersion)
	if err != nil {
		return nil, err
	}
	toxVersion, err := goOutput(ctx, repo, "list", "-m", "-f", "{{.Version}}", "github.com/Shopify/toxiproxy/v2")
	if err != nil {
		return nil, err
	}
	toxVersion = strings.TrimSpace(toxVersion)
	toxHash := sha256.New()
	fmt.Fprintf(toxHash, "go %s\ntoxiproxy %s\n", goVersion, toxVersion)
	if err := hashFile(toxHash, repo, "compose/toxiproxy.Dockerfile"); err != nil {
		return nil, err
	}
	return []imageSpec{
		{
			name: "mockaws", repo: MockAWSRepo, dockerfile: "mockaws.Dockerfile", binary: "mockaws", hash: mockHash,
			build: func(ctx context.Context, out string) error {
				return goBuild(ctx, repo, out, "-ldflags=-s -w", "./cmd/mockaws")
			},
		},
		{
			name: "toxiproxy", repo: ToxiproxyRepo, dockerfile: "toxiproxy.Dockerfile", binary: "toxiproxy", hash: short(toxHash.Sum(nil)),
			build: func(ctx context.Context, out string) error {
				return goBuild(ctx, repo, out, "-ldflags=-s -w -X github.com/Shopify/toxiproxy/v2.Version="+toxVersion, toxiproxyPkg)
			},
		},
	}, nil
}

// MockAWSHash is the content hash cascade/mockaws is tagged with.
func MockAWSHash(ctx context.Context, repo string) (string, error) {
	goVersion, err := goOutput(ctx, repo, "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	return mockawsHash(ctx, repo, strings.TrimSpace(goVersion))
}

// mockawsHash hashes what the mockaws binary is made of: the Go version,
// go.mod and go.sum (which pin every other module), the Dockerfile, and
// every file of this module's packages that cmd/mockaws imports.
func mockawsHash(ctx context.Context, repo, goVersion string) (string, error) {
	out, err := goOutput(ctx, repo, "list", "-deps", "-json=ImportPath,Dir,GoFiles,EmbedFiles,Module", "./cmd/mockaws")
	if err != nil {
		return "", err
	}
	type pkg struct {
		ImportPath string
		Dir        string
		GoFiles    []string
		EmbedFiles []string
		Module     *struct{ Main bool }
	}
	var files []string
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list -deps: %w", err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			rel, err := filepath.Rel(repo, filepath.Join(p.Dir, f))
			if err != nil {
				return "", err
			}
			files = append(files, rel)
		}
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "go %s\n", goVersion)
	for _, f := range append([]string{"go.mod", "go.sum", "compose/mockaws.Dockerfile"}, files...) {
		if err := hashFile(h, repo, f); err != nil {
			return "", err
		}
	}
	return short(h.Sum(nil)), nil
}

func hashFile(h io.Writer, repo, rel string) error {
	b, err := os.ReadFile(filepath.Join(repo, rel))
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
	_, _ = h.Write(b)
	return nil
}

func short(sum []byte) string { return hex.EncodeToString(sum)[:12] }

// buildEnv is the environment of the static builds: no cgo, Linux on the
// engine's architecture (this machine's: the engine is local).
func buildEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = buildEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func goBuild(ctx context.Context, dir, out string, args ...string) error {
	full := append([]string{"build", "-trimpath", "-o", out}, args...)
	_, err := goOutput(ctx, dir, full...)
	return err
}

func imageExists(ctx context.Context, cli client.APIClient, ref string) bool {
	_, err := cli.ImageInspect(ctx, ref)
	return err == nil
}

func tag(ctx context.Context, cli client.APIClient, source, target string) error {
	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		return fmt.Errorf("tag %s %s: %w", source, target, err)
	}
	return nil
}

// dockerBuild sends a two-file context (Dockerfile and the static binary)
// to the engine; FROM scratch needs no pull.
func dockerBuild(ctx context.Context, cli client.APIClient, dockerfile []byte, bin string, s imageSpec, log io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(dockerfile); err != nil {
		return err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: s.binary, Mode: 0o755, Size: int64(len(b)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{s.repo + ":" + s.hash, s.repo + ":" + LocalTag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelImage: s.name, LabelHash: s.hash},
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer res.Body.Close()
	return readBuild(ctx, cli, res.Body, s, log)
}

// lockFile takes an exclusive flock on path, waiting for ctx.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// IsNotFound reports an engine "not found" error.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
