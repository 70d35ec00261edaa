package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-lab/cascade/mocks/dynamodb"
)

func init() {
	var c common
	var cfg dynamodb.Config
	var tables []string
	cmd := &cobra.Command{
		Use:   "dynamodb",
		Short: "DynamoDB: the JSON 1.0 API in memory, with a maximum connection age so clients re-resolve the endpoint",
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, _, err := c.env()
			if err != nil {
				return err
			}
			for _, spec := range tables {
				ts, err := parseDynamoDBTable(spec)
				if err != nil {
					return err
				}
				cfg.Tables = append(cfg.Tables, ts)
			}
			srv, err := dynamodb.New(cfg, env)
			if err != nil {
				return err
			}
			return run(cmd.Context(), srv, env, c.adminAddr, nil)
		},
	}
	fs := cmd.Flags()
	c.addCommon(fs, "dynamodb")
	fs.StringVar(&cfg.Addr, "addr", envOr("CASCADE_DYNAMODB_ADDR", ":8000"), "API address (CASCADE_DYNAMODB_ADDR)")
	fs.DurationVar(&cfg.MaxConnAge, "max-conn-age", dynamoDBEnvDuration("CASCADE_DYNAMODB_MAX_CONN_AGE", 0), "close client connections older than this, incident time; 0 = default 1m, negative = never (CASCADE_DYNAMODB_MAX_CONN_AGE)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", dynamoDBEnvDuration("CASCADE_DYNAMODB_IDLE_TIMEOUT", 0), "close keep-alive connections idle this long, incident time; 0 = default 1m, negative = never (CASCADE_DYNAMODB_IDLE_TIMEOUT)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", envInt("CASCADE_DYNAMODB_MAX_BODY_BYTES", 0), "largest request body; 0 = DynamoDB's 16 MB (CASCADE_DYNAMODB_MAX_BODY_BYTES)")
	fs.StringArrayVar(&tables, "table", dynamoDBEnvList("CASCADE_DYNAMODB_TABLES"), "table to create at start, name:hash[:S|N|B][,range[:S|N|B]], repeatable (CASCADE_DYNAMODB_TABLES, space-separated)")
	register(cmd)
}

// parseDynamoDBTable parses "leases:id" or "events:pk:S,ts:N".
func parseDynamoDBTable(spec string) (dynamodb.TableSpec, error) {
	var ts dynamodb.TableSpec
	name, keys, ok := strings.Cut(spec, ":")
	if !ok || name == "" || keys == "" {
		return ts, fmt.Errorf("--table %q: want name:hash[:S|N|B][,range[:S|N|B]]", spec)
	}
	ts.Name = name
	hash, rng, _ := strings.Cut(keys, ",")
	ts.HashKey, ts.HashType, _ = strings.Cut(hash, ":")
	if rng != "" {
		ts.RangeKey, ts.RangeType, _ = strings.Cut(rng, ":")
	}
	for _, t := range []string{ts.HashType, ts.RangeType} {
		switch t {
		case "", "S", "N", "B":
		default:
			return ts, fmt.Errorf("--table %q: key type %q: valid types are S, N, B", spec, t)
		}
	}
	return ts, nil
}

func dynamoDBEnvDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func dynamoDBEnvList(key string) []string {
	return strings.Fields(os.Getenv(key))
}
