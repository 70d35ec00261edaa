package engine

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moby/moby/client"
)

// The subcommands of the cascade binary that the images built from it run
// (cmd/cascade registers them, hidden): `/cascade mockaws <service>` and
// `/cascade toxiproxy -host=0.0.0.0`.
const (
	MockAWSCommand   = "mockaws"
	ToxiproxyCommand = "toxiproxy"
)

// InstallHint is how to get a binary that can build the images anywhere.
const InstallHint = "CGO_ENABLED=0 go install " + modulePath + "/cmd/cascade@latest"

// fromExecutable is set by FromExecutable.
var fromExecutable bool

// FromExecutable makes EnsureImages (without WithRepoDir) build both images
// from the running executable, which must carry MockAWSCommand and
// ToxiproxyCommand: it becomes the images' only file, so no source
// checkout and no Go toolchain is needed. cmd/cascade calls it; test
// binaries do not (they cannot serve as the images) and build from the
// module source. An executable that is not static (built with cgo: it has
// an ELF interpreter) cannot run FROM scratch: EnsureImages then builds
// from the checkout above the working directory if there is one, and
// otherwise fails saying how to install a static binary.
func FromExecutable() { fromExecutable = true }

// exeFile is the executable's name inside the images.
const exeFile = "cascade"

// exeDockerfiles are the images' Dockerfiles when built from the executable.
var exeDockerfiles = map[string]string{
	"mockaws": "# cascade/mockaws, built from the cascade executable (engine.FromExecutable).\n" +
		"FROM scratch\nCOPY " + exeFile + " /" + exeFile + "\n" +
		"ENTRYPOINT [\"/" + exeFile + "\", \"" + MockAWSCommand + "\"]\n",
	"toxiproxy": "# cascade/toxiproxy, built from the cascade executable (engine.FromExecutable).\n" +
		"FROM scratch\nCOPY " + exeFile + " /" + exeFile + "\n" +
		"ENTRYPOINT [\"/" + exeFile + "\", \"" + ToxiproxyCommand + "\"]\nCMD [\"-host=0.0.0.0\"]\n",
}

// ErrNotStatic: the executable needs a dynamic loader, so it cannot be the
// only file of a FROM-scratch image.
var ErrNotStatic = errors.New("not a static executable")

// StaticExecutable reports whether the ELF file at path is statically
// linked (no PT_INTERP program header): only such a file runs FROM scratch.
func StaticExecutable(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: %w: it has an ELF interpreter (built with cgo)", path, ErrNotStatic)
		}
	}
	return nil
}

// ensureFromExecutable builds the images from the running executable. It
// returns done=false (and no error) when the executable is not static but a
// checkout is above the working directory: the caller builds from source.
func ensureFromExecutable(ctx context.Context, cli client.APIClient, o imageOptions, start time.Time) (imgs Images, done bool, err error) {
	exe, err := os.Executable()
	if err != nil {
		return imgs, true, fmt.Errorf("images: find the executable: %w", err)
	}
	if err := StaticExecutable(exe); err != nil {
		if !errors.Is(err, ErrNotStatic) {
			return imgs, true, fmt.Errorf("images: %w", err)
		}
		if dir, rerr := RepoDir(); rerr == nil {
			fmt.Fprintf(o.log, "%v: building the images from the checkout at %s\n", err, dir)
			return imgs, false, nil
		}
		return imgs, true, fmt.Errorf("images: %w, so it cannot be the only file of the FROM-scratch images, "+
			"and no checkout of %s is above the working directory to build them from; install a static binary: %s",
			err, modulePath, InstallHint)
	}
	exeHash, err := fileHash(exe)
	if err != nil {
		return imgs, true, fmt.Errorf("images: %w", err)
	}
	for _, s := range []imageSpec{
		{name: "mockaws", repo: MockAWSRepo},
		{name: "toxiproxy", repo: ToxiproxyRepo},
	} {
		df := exeDockerfiles[s.name]
		h := sha256.New()
		fmt.Fprintf(h, "executable %s\n%s", exeHash, df)
		s.hash, s.binary = short(h.Sum(nil)), exeFile
		ref := s.repo + ":" + s.hash
		if ok, err := upToDate(ctx, cli, o, s, &imgs); ok || err != nil {
			if err != nil {
				return imgs, true, err
			}
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(o.log, "building %s from %s\n", ref, exe)
		if err := exeBuild(ctx, cli, []byte(df), exe, s, o.log); err != nil {
			return imgs, true, fmt.Errorf("build %s: %w", s.name, err)
		}
		imgs.Built = append(imgs.Built, ref)
		fmt.Fprintf(o.log, "built %s in %v\n", ref, time.Since(t0).Round(time.Millisecond))
	}
	imgs.Took = time.Since(start)
	return imgs, true, nil
}

// fileHash is the short sha256 of the file at path.
func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return short(h.Sum(nil)), nil
}

// exeBuild streams a two-file context (the Dockerfile and the executable,
// read as it is sent) to the engine.
func exeBuild(ctx context.Context, cli client.APIClient, dockerfile []byte, exe string, s imageSpec, log io.Writer) error {
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), ModTime: time.Unix(0, 0)})
		if err == nil {
			_, err = tw.Write(dockerfile)
		}
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: s.binary, Mode: 0o755, Size: st.Size(), ModTime: time.Unix(0, 0)})
		}
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	res, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{s.repo + ":" + s.hash, s.repo + ":" + LocalTag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelImage: s.name, LabelHash: s.hash, LabelSource: "executable"},
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer res.Body.Close()
	return readBuild(ctx, cli, res.Body, s, log)
}

// readBuild follows the engine's JSON build stream; a failed step arrives
// as "error". It checks that the tagged image exists afterwards.
func readBuild(ctx context.Context, cli client.APIClient, body io.Reader, s imageSpec, log io.Writer) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Error != "" {
			return fmt.Errorf("docker build: %s", m.Error)
		}
		fmt.Fprint(log, m.Stream)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	if !imageExists(ctx, cli, s.repo+":"+s.hash) {
		return fmt.Errorf("docker build: image %s:%s missing after the build", s.repo, s.hash)
	}
	return nil
}
