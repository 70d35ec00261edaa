package sts_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/sts"
)

// TestAWSCLI drives the mock with the unmodified AWS CLI (botocore's Query
// protocol parser). It skips when `aws` is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI takes seconds per command")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH: apt-get install awscli to run this test")
	}
	r := newRig(t, kit.AsWas)
	home := t.TempDir()
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(awsBin, append(append([]string{"sts"}, args...), "--endpoint-url", r.srv.URL(), "--output", "json")...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDCASCADE",
			"AWS_SECRET_ACCESS_KEY=cascade-secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=", "NO_PROXY=*", "AWS_MAX_ATTEMPTS=1"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var v map[string]any
		if err == nil {
			if jerr := json.Unmarshal(stdout.Bytes(), &v); jerr != nil {
				t.Fatalf("aws sts %s: output is not JSON: %q", args[0], stdout.String())
			}
		}
		return v, stderr.String(), err
	}
	id, errOut, err := run("get-caller-identity")
	if err != nil || id["Account"] != sts.DefaultAccount || id["Arn"] != sts.DefaultUser.ARN {
		t.Fatalf("get-caller-identity: %v %v %s", id, err, errOut)
	}
	ar, errOut, err := run("assume-role", "--role-arn", sts.DefaultRole.ARN, "--role-session-name", "cli")
	if err != nil || !strings.HasPrefix(ar["Credentials"].(map[string]any)["AccessKeyId"].(string), "ASIA") {
		t.Fatalf("assume-role: %v %v %s", ar, err, errOut)
	}
	if _, errOut, err = run("get-session-token", "--duration-seconds", "900"); err != nil {
		t.Fatalf("get-session-token: %v %s", err, errOut)
	}
	_, errOut, err = run("assume-role", "--role-arn", "arn:aws:iam::123456789012:role/nope", "--role-session-name", "cli")
	if err == nil || !strings.Contains(errOut, "(AccessDenied)") {
		t.Fatalf("assume-role of an unknown role: %v %q", err, errOut)
	}
}
