package containers

import (
	"os"
	"path/filepath"
	"testing"
)

// TestComposeFileIsGenerated: the checked-in compose file and toxiproxy
// configurations are what the catalogue generates; a service, link or flag
// changed without `go generate ./harness/containers` fails here.
func TestComposeFileIsGenerated(t *testing.T) {
	files, err := ComposeFiles()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "compose", name))
		if err != nil {
			t.Errorf("%s: %v (run go generate ./harness/containers)", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("compose/%s differs from the catalogue's: run go generate ./harness/containers", name)
		}
	}
}
