package containers

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// tuneFlags maps, per service kind, the Config fields a harness.WithTune
// hook may change to the cmd/mockaws flag that sets the same field in the
// container. A tune that changes a field without a flag is an error (it
// would silently not apply); repeated marks a flag given once per element.
var tuneFlags = map[string]map[string]string{
	"route53":  {"Mode": "mode", "Zones": "zone*", "MaxChangesPerBatch": "max-changes-per-batch", "MaxBodyBytes": "max-body-bytes"},
	"dynamodb": {"MaxConnAge": "max-conn-age", "IdleTimeout": "idle-timeout", "MaxBodyBytes": "max-body-bytes"},
	"dnsplanner": {"Period": "period", "HealthInterval": "health-interval", "HealthTimeoutWall": "health-timeout",
		"SlowLatencyWall": "slow-latency", "Accounts": "accounts", "SyntheticEndpoints": "synthetic-endpoints",
		"MaxChangesPerBatch": "max-changes-per-batch"},
	"dnsenactor": {"Mode": "mode", "Period": "period", "KeepGenerations": "keep-generations", "Accounts": "accounts",
		"SyntheticEndpoints": "synthetic-endpoints", "MaxRetries": "max-retries", "RetryBackoff": "retry-backoff",
		"EndpointsPerBatch": "endpoints-per-batch", "ReadAhead": "read-ahead", "RequestTimeoutWall": "request-timeout",
		"Disabled": "disabled"},
	"dwfm": {"Mode": "mode", "Droplets": "droplets", "DropletPrefix": "droplet-prefix", "CheckPeriod": "check-period",
		"LeaseTTL": "lease-ttl", "WorkTimeout": "work-timeout", "StateSync": "state-sync", "Workers": "workers",
		"DispatchPerMinute": "dispatch-rate", "BackoffBase": "backoff-base", "BackoffMax": "backoff-max", "Tick": "tick",
		"OpTimeout": "op-timeout", "MinWallTimeout": "min-wall-timeout", "Table": "table", "OpConcurrency": "op-concurrency",
		"DynamoDBHost": "dynamodb-host", "NetMgrURL": "netmgr", "NetWorkPerWrite": "net-work-per-write",
		"NetBackoffBase": "net-backoff-base", "NetBackoffMax": "net-backoff-max"},
	"netmgr": {"Mode": "mode", "Nodes": "nodes", "RatePerMinute": "rate", "QueueLimit": "queue-limit",
		"TickInterval": "tick", "SampleInterval": "sample"},
	"ec2": {"Mode": "mode", "RunPerMinute": "run-rate", "RunBurst": "run-burst", "BootTime": "boot-time",
		"HandoffRetry": "handoff-retry", "NetWorkPerLaunch": "net-work-per-launch", "CallTimeout": "call-timeout", "MinWallTimeout": "min-wall-timeout",
		"OwnerID": "owner-id"},
	"nlb": {"Mode": "mode", "DNSName": "dns-name", "Zone": "zone", "HostedZoneID": "hosted-zone-id", "TTL": "ttl",
		"CheckInterval": "check-interval", "CheckJitter": "check-jitter", "CheckTimeout": "check-timeout",
		"CheckCapacity": "check-capacity", "HealthyThreshold": "healthy-threshold", "UnhealthyThreshold": "unhealthy-threshold",
		"RechecksPerFlap": "rechecks-per-flap", "FailoverThreshold": "failover-threshold", "RestoreThreshold": "restore-threshold",
		"VelocityWindow": "velocity-window", "MaxRemovedFraction": "max-removed-fraction", "PropagationPoll": "propagation-poll",
		"PropagationGate": "propagation-gate",
		"TickInterval":    "tick", "CheckWorkers": "check-workers", "SampleInterval": "sample"},
}

// tuned applies the stack's tune hooks to cfg (a pointer to the service's
// Config, built as the embedded backend builds it) and returns the flags
// that carry the changed fields into the container.
func tuned(kind, instance string, cfg any, tune func(string, any)) ([]string, error) {
	v := reflect.ValueOf(cfg).Elem()
	before := reflect.New(v.Type()).Elem()
	before.Set(v)
	// Slices and maps are shared by the shallow copy: clone them so an
	// in-place edit by the hook shows as a change.
	for i := 0; i < v.NumField(); i++ {
		f := before.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			if !f.IsNil() {
				c := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
				reflect.Copy(c, f)
				f.Set(c)
			}
		case reflect.Map:
			if !f.IsNil() {
				c := reflect.MakeMap(f.Type())
				for _, k := range f.MapKeys() {
					c.SetMapIndex(k, f.MapIndex(k))
				}
				f.Set(c)
			}
		}
	}
	tune(instance, cfg)
	var flags, unsupported []string
	for i := 0; i < v.NumField(); i++ {
		field := v.Type().Field(i)
		if !field.IsExported() || reflect.DeepEqual(before.Field(i).Interface(), v.Field(i).Interface()) {
			continue
		}
		flag, ok := tuneFlags[kind][field.Name]
		if !ok {
			unsupported = append(unsupported, field.Name)
			continue
		}
		flags = append(flags, flagArgs(flag, v.Field(i).Interface())...)
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		var valid []string
		for f := range tuneFlags[kind] {
			valid = append(valid, f)
		}
		sort.Strings(valid)
		return nil, fmt.Errorf("tune %s: field(s) %s have no cmd/mockaws flag; tunable on the containers backend: %s",
			instance, strings.Join(unsupported, ", "), strings.Join(valid, ", "))
	}
	return flags, nil
}

func flagArgs(flag string, val any) []string {
	if name, ok := strings.CutSuffix(flag, "*"); ok {
		var out []string
		for _, s := range val.([]string) {
			out = append(out, "--"+name+"="+s)
		}
		return out
	}
	return []string{"--" + flag + "=" + formatFlag(val)}
}

func formatFlag(val any) string {
	switch x := val.(type) {
	case time.Duration:
		return x.String()
	case kit.Mode:
		return string(x)
	case []string:
		return strings.Join(x, ",")
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}
