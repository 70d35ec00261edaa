package dynamodb_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	ddb "github.com/cascade-lab/cascade/mocks/dynamodb"
)

// TestAWSCLI drives the mock with the unmodified AWS CLI (botocore, which
// also verifies x-amz-crc32). It skips when `aws` is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: install it (pip install awscli, or apt-get install awscli) to run this test")
	}
	srv, _ := startServer(t, ddb.Config{})
	home := t.TempDir()
	run := func(args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.Command(awsBin, append(append([]string{"dynamodb"}, args...), "--endpoint-url", srv.URL(), "--output", "json")...)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret",
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=",
			"NO_PROXY=*",
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	mustRun := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, err := run(args...)
		if err != nil {
			t.Fatalf("aws dynamodb %s: %v\n%s", args[0], err, errOut)
		}
		var v map[string]any
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("aws dynamodb %s: output is not JSON: %q", args[0], out)
			}
		}
		return v
	}
	created := mustRun("create-table", "--table-name", "leases",
		"--attribute-definitions", "AttributeName=id,AttributeType=S",
		"--key-schema", "AttributeName=id,KeyType=HASH",
		"--billing-mode", "PAY_PER_REQUEST")
	if created["TableDescription"].(map[string]any)["TableStatus"] != "ACTIVE" {
		t.Fatalf("create-table: %v", created)
	}
	mustRun("wait", "table-exists", "--table-name", "leases")
	mustRun("put-item", "--table-name", "leases", "--item", `{"id":{"S":"droplet-1"},"owner":{"S":"dwfm-a"},"ver":{"N":"1"}}`)
	got := mustRun("get-item", "--table-name", "leases", "--key", `{"id":{"S":"droplet-1"}}`)
	if owner := got["Item"].(map[string]any)["owner"].(map[string]any)["S"]; owner != "dwfm-a" {
		t.Fatalf("get-item: %v", got)
	}
	q := mustRun("query", "--table-name", "leases", "--key-condition-expression", "id = :i", "--expression-attribute-values", `{":i":{"S":"droplet-1"}}`)
	if q["Count"].(float64) != 1 {
		t.Fatalf("query: %v", q)
	}
	// The legacy parameters, as libraries written for DynamoDB Local send them.
	lq := mustRun("query", "--table-name", "leases", "--key-conditions", `{"id":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"droplet-1"}]}}`, "--attributes-to-get", "owner")
	if items := lq["Items"].([]any); len(items) != 1 || len(items[0].(map[string]any)) != 1 {
		t.Fatalf("query --key-conditions --attributes-to-get owner: %v", lq)
	}
	_, errOut, err := run("put-item", "--table-name", "leases", "--item", `{"id":{"S":"droplet-1"}}`, "--expected", `{"id":{"Exists":false}}`)
	if err == nil || !strings.Contains(errOut, "ConditionalCheckFailedException") {
		t.Fatalf("put-item --expected Exists=false over an existing item: err %v, stderr %q", err, errOut)
	}
	mustRun("put-item", "--table-name", "leases", "--item", `{"id":{"S":"droplet-2"},"owner":{"S":"dwfm-b"}}`)
	sc := mustRun("scan", "--table-name", "leases", "--scan-filter", `{"owner":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"dwfm-b"}]}}`, "--select", "COUNT")
	if sc["Count"].(float64) != 1 || sc["ScannedCount"].(float64) != 2 || sc["Items"] != nil {
		t.Fatalf("scan --scan-filter --select COUNT: %v", sc)
	}
	mustRun("delete-item", "--table-name", "leases", "--key", `{"id":{"S":"droplet-2"}}`)
	mustRun("update-time-to-live", "--table-name", "leases", "--time-to-live-specification", "Enabled=true,AttributeName=expires")
	ttl := mustRun("describe-time-to-live", "--table-name", "leases")
	if d := ttl["TimeToLiveDescription"].(map[string]any); d["TimeToLiveStatus"] != "ENABLED" || d["AttributeName"] != "expires" {
		t.Fatalf("describe-time-to-live: %v", ttl)
	}
	ut := mustRun("update-table", "--table-name", "leases", "--attribute-definitions", "AttributeName=owner,AttributeType=S",
		"--global-secondary-index-updates", `[{"Create":{"IndexName":"by-owner","KeySchema":[{"AttributeName":"owner","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}}]`)
	if g := ut["TableDescription"].(map[string]any)["GlobalSecondaryIndexes"].([]any); len(g) != 1 || g[0].(map[string]any)["IndexStatus"] != "ACTIVE" {
		t.Fatalf("update-table: %v", ut)
	}
	iq := mustRun("query", "--table-name", "leases", "--index-name", "by-owner", "--key-condition-expression", "#o = :o",
		"--expression-attribute-names", `{"#o":"owner"}`, "--expression-attribute-values", `{":o":{"S":"dwfm-a"}}`)
	if iq["Count"].(float64) != 1 {
		t.Fatalf("query --index-name by-owner: %v", iq)
	}
	cc := mustRun("get-item", "--table-name", "leases", "--key", `{"id":{"S":"droplet-1"}}`, "--return-consumed-capacity", "TOTAL")
	if u := cc["ConsumedCapacity"].(map[string]any)["CapacityUnits"]; u != 0.5 {
		t.Fatalf("get-item --return-consumed-capacity TOTAL: %v", cc)
	}
	_, errOut, err = run("put-item", "--table-name", "leases", "--item", `{"id":{"S":"droplet-1"}}`, "--condition-expression", "attribute_not_exists(id)")
	if err == nil || !strings.Contains(errOut, "ConditionalCheckFailedException") || !strings.Contains(errOut, "The conditional request failed") {
		t.Fatalf("conditional put over an existing item: err %v, stderr %q", err, errOut)
	}
	tables := mustRun("list-tables")
	if names := tables["TableNames"].([]any); len(names) != 1 || names[0] != "leases" {
		t.Fatalf("list-tables: %v", tables)
	}
}
