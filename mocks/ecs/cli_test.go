package ecs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAWSCLI drives the mock with the unmodified AWS CLI (botocore's JSON
// protocol). It skips when `aws` is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: apt-get install awscli to run this test")
	}
	r := newRig(t)
	home := t.TempDir()
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(awsBin, append(append([]string{"ecs"}, args...), "--endpoint-url", r.srv.URL(), "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=", "NO_PROXY=*", "AWS_MAX_ATTEMPTS=1"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var v map[string]any
		if err == nil {
			if jerr := json.Unmarshal(stdout.Bytes(), &v); jerr != nil {
				t.Fatalf("aws ecs %s: output is not JSON: %q", args[0], stdout.String())
			}
		}
		return v, stderr.String(), err
	}
	out, errOut, err := run("run-task", "--cluster", "prod", "--task-definition", "web:1", "--launch-type", "FARGATE")
	if err != nil {
		t.Fatalf("run-task: %v %s", err, errOut)
	}
	arn := out["tasks"].([]any)[0].(map[string]any)["taskArn"].(string)
	d, errOut, err := run("describe-tasks", "--cluster", "prod", "--tasks", arn)
	if err != nil || d["tasks"].([]any)[0].(map[string]any)["lastStatus"] != "PENDING" {
		t.Fatalf("describe-tasks: %v %v %s", d, err, errOut)
	}
	if _, errOut, err = run("create-service", "--cluster", "prod", "--service-name", "api", "--task-definition", "api:1", "--desired-count", "1"); err != nil {
		t.Fatalf("create-service: %v %s", err, errOut)
	}
	u, errOut, err := run("update-service", "--cluster", "prod", "--service", "api", "--desired-count", "3")
	if err != nil || u["service"].(map[string]any)["desiredCount"] != float64(3) {
		t.Fatalf("update-service: %v %v %s", u, err, errOut)
	}
	if _, errOut, err = run("describe-services", "--cluster", "prod", "--services", "api"); err != nil {
		t.Fatalf("describe-services: %v %s", err, errOut)
	}
	_, errOut, err = run("run-task", "--cluster", "nope", "--task-definition", "web:1")
	if err == nil || !strings.Contains(errOut, "(ClusterNotFoundException)") {
		t.Fatalf("run-task on an unknown cluster: %v %q", err, errOut)
	}
}
