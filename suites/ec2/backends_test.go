package ec2_test

// The backends the suite can run on: CASCADE_BACKEND picks one (embedded by
// default, containers for one container per service).
import _ "github.com/cascade-lab/cascade/harness/backends"
