package main

import (
	"errors"
	"strings"
	"testing"
)

func TestAttachFlagRefusesBadValuesNamingTheValidKeys(t *testing.T) {
	for _, tc := range []struct{ backend, value, says string }{
		{"containers", "orders:local,mount=/data", "valid keys are env, name, port"},
		{"compose", "orders:local,port=x", "want a TCP port 1-65535"},
		{"containers", "orders:local,name=dwfm-a", "is taken"},
		{"embedded", "orders:local", "--attach needs --backend containers or compose"},
	} {
		_, err := attachOptions(tc.backend, []string{tc.value})
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), tc.says) || !errors.As(err, &ue) {
			t.Errorf("--backend %s --attach %s: %v, want a usage error saying %q", tc.backend, tc.value, err, tc.says)
		}
	}
	opts, err := attachOptions("containers", []string{"orders:local,name=orders,port=8080", "worker:local"})
	if err != nil || len(opts) != 1 {
		t.Errorf("two good attachments: %v %v", opts, err)
	}
}
