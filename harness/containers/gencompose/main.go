// Command gencompose writes compose/docker-compose.yml and the toxiproxy
// configurations it mounts from the service catalogue:
//
//	go generate ./harness/containers   (go run ./harness/containers/gencompose compose)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cascade-lab/cascade/harness/containers"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gencompose <compose dir>")
		os.Exit(2)
	}
	files, err := containers.ComposeFiles()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencompose:", err)
		os.Exit(1)
	}
	for name, b := range files {
		path := filepath.Join(os.Args[1], name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gencompose:", err)
			os.Exit(1)
		}
	}
}
