package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaticExecutableRejectsDynamic: an executable with an ELF interpreter
// (a C program, or Go built with cgo) cannot be a FROM-scratch image's file.
func TestStaticExecutableRejectsDynamic(t *testing.T) {
	sh := "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip(err)
	}
	if err := StaticExecutable(sh); !errors.Is(err, ErrNotStatic) {
		t.Fatalf("StaticExecutable(%s) = %v, want ErrNotStatic", sh, err)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := StaticExecutable(notELF); err == nil || errors.Is(err, ErrNotStatic) {
		t.Fatalf("StaticExecutable(not ELF) = %v, want an ELF error", err)
	}
}

// TestFromExecutableNotStatic: a cgo binary builds from the checkout when
// there is one, and outside any checkout fails naming the static install.
// The test binary is the executable here; it is linked with cgo when a C
// compiler is present (net), else the test cannot tell and skips.
func TestFromExecutableNotStatic(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := StaticExecutable(exe); err == nil {
		t.Skip("this test binary is static (CGO_ENABLED=0): the fallback cannot be exercised")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := imageOptions{log: io.Discard}

	// In the checkout (the package directory): fall back to the source build.
	if _, done, err := ensureFromExecutable(ctx, nil, o, time.Now()); done || err != nil {
		t.Fatalf("in the checkout: done=%v err=%v, want the source build (done=false, no error)", done, err)
	}

	// Outside every checkout: a clear error naming the static install.
	t.Chdir(t.TempDir())
	_, done, err := ensureFromExecutable(ctx, nil, o, time.Now())
	if !done || err == nil || !errors.Is(err, ErrNotStatic) || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("outside a checkout: done=%v err=%v, want ErrNotStatic naming %q", done, err, InstallHint)
	}
}
