package embedded_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-lab/cascade/harness"
)

// TestAWSCLIAgainstTheStacksEndpoints: the unmodified AWS CLI works against
// the sqs_api, lambda_api, sts_api and ecs_api keys of the endpoints file
// that cascade up writes (harness.WriteEndpoints), each service on its
// real protocol (JSON 1.0, REST JSON, Query XML, JSON 1.1), and a bad
// request's error is the one the CLI names. It skips with -short or
// without `aws` on PATH.
func TestAWSCLIAgainstTheStacksEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: apt-get install awscli to run this test")
	}
	ctx := context.Background()
	s, err := harness.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close(ctx) }()
	file := filepath.Join(t.TempDir(), "cascade-endpoints.json")
	if err := harness.WriteEndpoints(file, s.Endpoints()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	run := func(key string, args ...string) (map[string]any, string, error) {
		t.Helper()
		url, _ := keys[key].(string)
		if url == "" {
			t.Fatalf("endpoints file has no %s: %s", key, raw)
		}
		cmd := exec.Command(awsBin, append(args, "--endpoint-url", url, "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=", "NO_PROXY=*", "AWS_MAX_ATTEMPTS=1"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var v map[string]any
		if err == nil && stdout.Len() > 0 {
			if jerr := json.Unmarshal(stdout.Bytes(), &v); jerr != nil {
				t.Fatalf("aws %s: output is not JSON: %q", strings.Join(args, " "), stdout.String())
			}
		}
		return v, stderr.String(), err
	}
	if q, errOut, err := run("sqs_api", "sqs", "create-queue", "--queue-name", "cli"); err != nil || !strings.HasSuffix(q["QueueUrl"].(string), "/cli") {
		t.Errorf("sqs create-queue: %v %v %s", q, err, errOut)
	}
	if _, errOut, err := run("sqs_api", "sqs", "get-queue-url", "--queue-name", "nope"); err == nil || !strings.Contains(errOut, "NonExistentQueue") && !strings.Contains(errOut, "QueueDoesNotExist") {
		t.Errorf("sqs get-queue-url of a missing queue: %v %q", err, errOut)
	}
	if l, errOut, err := run("lambda_api", "lambda", "list-event-source-mappings"); err != nil || l["EventSourceMappings"] == nil {
		t.Errorf("lambda list-event-source-mappings: %v %v %s", l, err, errOut)
	}
	if _, errOut, err := run("lambda_api", "lambda", "get-function", "--function-name", "nope"); err == nil || !strings.Contains(errOut, "(ResourceNotFoundException)") {
		t.Errorf("lambda get-function of a missing function: %v %q", err, errOut)
	}
	if id, errOut, err := run("sts_api", "sts", "get-caller-identity"); err != nil || id["Arn"] != "arn:aws:iam::123456789012:user/cascade" {
		t.Errorf("sts get-caller-identity: %v %v %s", id, err, errOut)
	}
	if c, errOut, err := run("ecs_api", "ecs", "create-cluster", "--cluster-name", "cli"); err != nil || c["cluster"] == nil {
		t.Errorf("ecs create-cluster: %v %v %s", c, err, errOut)
	}
	if _, errOut, err := run("ecs_api", "ecs", "run-task", "--cluster", "nope", "--task-definition", "t:1"); err == nil || !strings.Contains(errOut, "(ClusterNotFoundException)") {
		t.Errorf("ecs run-task on a missing cluster: %v %q", err, errOut)
	}
}
