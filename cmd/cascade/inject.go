package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/harness/faults"
)

func init() {
	var endpointsFile string
	var revert bool
	cmd := &cobra.Command{
		Use:   "inject <fault> [key=value...] | inject list",
		Short: "apply a fault to a running stack (cascade up) from another terminal; --revert undoes it",
		Long: `inject applies one fault to the stack described by --endpoints-file, through the
toxiproxy and admin APIs, and records it in <endpoints-file>.faults.jsonl.

  cascade inject list
  cascade inject latency link=ddb-lb-a latency=300ms
  cascade inject latency link=ddb-lb-a --revert
  cascade inject empty-endpoint endpoint=regional
  cascade inject stop-service service=dwfm-a`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if args[0] == "list" {
				if len(args) > 1 {
					return usagef("inject list takes no arguments")
				}
				var ep *harness.Endpoints
				if e, err := harness.ReadEndpoints(endpointsFile); err == nil {
					ep = &e
				}
				return printFaultList(out, ep)
			}
			fargs, err := faults.ParseArgs(args[1:])
			if err != nil {
				return usagef("%v", err)
			}
			f, err := faults.Build(args[0], fargs)
			if err != nil {
				if errors.Is(err, faults.ErrUnknownFault) || errors.Is(err, faults.ErrBadArgument) {
					return usagef("%v", err)
				}
				return err
			}
			ep, err := harness.ReadEndpoints(endpointsFile)
			if err != nil {
				return fmt.Errorf("%w (is `cascade up` running?)", err)
			}
			if link, ok := fargs["link"]; ok {
				if _, err := ep.Link(link); err != nil {
					return usagef("%v", err)
				}
			}
			if svc, ok := fargs["service"]; ok {
				if err := ep.CheckInstance(svc); err != nil {
					return usagef("%v", err)
				}
			}
			stack := harness.Attach(ep)
			defer stack.Close(cmd.Context())
			rec := faults.Describe(f)
			rec.Start = stack.Clock().Now()
			verb := "applied"
			if revert {
				err = f.Revert(cmd.Context(), stack)
				verb = "reverted"
				rec.End = rec.Start
			} else {
				err = f.Apply(cmd.Context(), stack)
			}
			if err != nil {
				return err
			}
			line, _ := json.Marshal(struct {
				Action string `json:"action"`
				Fault  any    `json:"fault"`
			}{verb, rec})
			appendLine(endpointsFile+".faults.jsonl", line)
			fmt.Fprintf(out, "%s %s %s %s\n", verb, rec.Name, rec.Target, rec.Detail)
			return nil
		},
	}
	cmd.Flags().StringVar(&endpointsFile, "endpoints-file", DefaultEndpointsFile, "the endpoints file written by cascade up")
	cmd.Flags().BoolVar(&revert, "revert", false, "undo the fault instead of applying it")
	register(cmd)
}

func appendLine(path string, line []byte) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

// printFaultList prints every fault with its arguments, and the links and
// services of the running stack when its endpoints are known.
func printFaultList(w io.Writer, ep *harness.Endpoints) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tKIND\tARGUMENTS\tWHAT")
	for _, s := range faults.Specs() {
		var ps []string
		for _, p := range s.Params {
			switch {
			case p.Required:
				ps = append(ps, p.Name+"=...")
			case p.Default != "":
				ps = append(ps, "["+p.Name+"="+p.Default+"]")
			default:
				ps = append(ps, "["+p.Name+"]")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, strings.Join(ps, " "), s.Help)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ep == nil {
		fmt.Fprintln(w, "\nlinks and services: start a stack with `cascade up` to list them")
		return nil
	}
	fmt.Fprintln(w, "\nLINKS")
	for _, l := range ep.Links {
		fmt.Fprintf(w, "  %s\t%s -> %s\n", l.Name, l.From, l.To)
	}
	fmt.Fprintln(w, "\nSERVICES")
	for _, n := range ep.Instances() {
		fmt.Fprintf(w, "  %s\n", n)
	}
	for _, a := range ep.Attached {
		fmt.Fprintf(w, "  %s\t(attached: %s)\n", a.Name, a.Image)
	}
	return nil
}
