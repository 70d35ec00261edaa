// Package entrypoints holds the commands the cascade images run: the mock
// services (`mockaws <service>`, `mockaws reaper`) and toxiproxy's server
// (`toxiproxy`). cmd/mockaws runs MockAWS as its root; cmd/cascade carries
// both as hidden subcommands, so the installed cascade binary can be the
// only file of the FROM-scratch images (harness/containers/engine builds
// them from the running executable; see docs/install.md).
package entrypoints

import "github.com/spf13/cobra"

var subcommands []*cobra.Command

// register adds a service's subcommand; each service's file calls it from init.
func register(cmd *cobra.Command) { subcommands = append(subcommands, cmd) }

// MockAWS returns the `mockaws` command: one subcommand per catalogue
// service, and `reaper`. Each call builds a fresh tree's root; the
// subcommands are shared, so call it once per process.
func MockAWS() *cobra.Command {
	root := &cobra.Command{
		Use:           "mockaws",
		Short:         "cascade's mock AWS services",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(subcommands...)
	return root
}
