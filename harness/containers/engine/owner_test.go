package engine

import (
	"os"
	"os/exec"
	"testing"
)

func TestOwnerAliveTellsLiveFromDead(t *testing.T) {
	if procStart(os.Getpid()) == "" {
		t.Skip("no /proc")
	}
	if !ownerAlive(Owner()) {
		t.Fatal("this process reads as dead")
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	if ownerAlive(ownerOf(cmd.Process.Pid)) {
		t.Fatal("an exited process reads as alive")
	}
	host, _ := os.Hostname()
	if ownerAlive(host + "/" + "1" + "/" + "0") {
		t.Fatal("pid 1 with another start time (a recycled pid) reads as alive")
	}
	if !ownerAlive("elsewhere/1/1") {
		t.Fatal("another host's process must count as alive")
	}
}
