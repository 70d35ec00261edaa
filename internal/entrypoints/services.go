package entrypoints

import (
	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness/catalogue"
)

// One subcommand per catalogue entry: its flags are its Config's (see
// kit.BindFlags), defaulting from CASCADE_* variables, so the containers
// backend and the compose file configure it with the flags kit.FlagArgs
// writes from the same Config.
func init() {
	for _, svc := range catalogue.Services {
		var c common
		cfg := svc.Defaults()
		cmd := &cobra.Command{
			Use:   svc.Kind,
			Short: svc.Short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := c.env()
				if err != nil {
					return err
				}
				s, err := svc.New(cfg, env)
				if err != nil {
					return err
				}
				return run(cmd.Context(), s, env, c.adminAddr, nil)
			},
		}
		c.addCommon(cmd.Flags(), svc.Instances()[0])
		if err := kitBind(cmd, cfg); err != nil {
			panic(err) // a Config field type without an encoding: programmer error
		}
		register(cmd)
	}
}
