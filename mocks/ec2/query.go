package ec2

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// APIVersion is the EC2 API version the SDK speaks.
const APIVersion = "2016-11-15"

// Request is a decoded EC2 Query API request; exactly one of Run, Describe
// and Terminate is set.
type Request struct {
	Action    string
	Version   string
	DryRun    bool
	Run       *RunRequest
	Describe  *DescribeRequest
	Terminate *TerminateRequest
}

// RunRequest is RunInstances' input subset.
type RunRequest struct {
	ImageID, InstanceType, KeyName, ClientToken string
	// Zone and ZoneID come from Placement.AvailabilityZone(Id); empty: any.
	Zone, ZoneID       string
	MinCount, MaxCount int
	Tags               []Tag // the instance's TagSpecification tags
}

// DescribeRequest is DescribeInstances' input subset.
type DescribeRequest struct {
	IDs        []string
	Filters    []Filter
	MaxResults int
	NextToken  string
}

// TerminateRequest is TerminateInstances' input.
type TerminateRequest struct {
	IDs []string
}

// MaxLaunch is the most instances one RunInstances may ask for.
const MaxLaunch = 100

const maxIndex = 1000

// DecodeQuery decodes a form-encoded EC2 request. Every error is an *APIError
// with EC2's code for it.
func DecodeQuery(form url.Values) (*Request, error) {
	req := &Request{Action: form.Get("Action"), Version: form.Get("Version")}
	if req.Action == "" {
		return nil, apiErr(CodeMissingAction, "The request must contain the parameter Action")
	}
	if req.Version == "" {
		return nil, apiErr(CodeMissingParameter, "The request must contain the parameter Version")
	}
	if v := form.Get("DryRun"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apiErr(CodeInvalidParameterValue, "Invalid value '%s' for DryRun: expecting true or false", v)
		}
		req.DryRun = b
	}
	var err error
	switch req.Action {
	case "RunInstances":
		req.Run, err = decodeRun(form)
	case "DescribeInstances":
		req.Describe, err = decodeDescribe(form)
	case "TerminateInstances":
		var ids []string
		ids, err = list(form, "InstanceId")
		if err == nil && len(ids) == 0 {
			err = apiErr(CodeMissingParameter, "The request must contain the parameter InstanceId")
		}
		req.Terminate = &TerminateRequest{IDs: ids}
	default:
		return nil, apiErr(CodeInvalidAction, "The action %s is not valid for this web service. Valid actions: RunInstances, DescribeInstances, TerminateInstances", truncate(req.Action))
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

func decodeRun(form url.Values) (*RunRequest, error) {
	r := &RunRequest{
		ImageID: form.Get("ImageId"), InstanceType: form.Get("InstanceType"), KeyName: form.Get("KeyName"),
		ClientToken: form.Get("ClientToken"), Zone: form.Get("Placement.AvailabilityZone"), ZoneID: form.Get("Placement.AvailabilityZoneId"),
	}
	if r.ImageID == "" {
		return nil, apiErr(CodeMissingParameter, "The request must contain the parameter ImageId")
	}
	if r.InstanceType == "" {
		r.InstanceType = "m1.small"
	}
	var err error
	if r.MinCount, err = count(form, "MinCount"); err != nil {
		return nil, err
	}
	if r.MaxCount, err = count(form, "MaxCount"); err != nil {
		return nil, err
	}
	if r.MaxCount < r.MinCount {
		return nil, apiErr(CodeInvalidParameterValue, "Value (%d) for parameter maxCount is invalid. Expecting a value greater than or equal to minCount (%d).", r.MaxCount, r.MinCount)
	}
	specs, err := groups(form, "TagSpecification")
	if err != nil {
		return nil, err
	}
	for _, i := range sortedIndices(specs) {
		spec := specs[i]
		rt := spec.Get("ResourceType")
		switch rt {
		case "":
			return nil, apiErr(CodeMissingParameter, "The request must contain the parameter TagSpecification.%d.ResourceType", i)
		case "instance", "volume", "network-interface", "spot-instances-request", "elastic-gpu":
		default:
			return nil, apiErr(CodeInvalidParameterValue, "'%s' is not a valid taggable resource type for this operation.", truncate(rt))
		}
		tags, err := groups(spec, "Tag")
		if err != nil {
			return nil, err
		}
		for _, j := range sortedIndices(tags) {
			t := Tag{Key: tags[j].Get("Key"), Value: tags[j].Get("Value")}
			switch {
			case t.Key == "":
				return nil, apiErr(CodeInvalidParameterValue, "Tag key must not be empty (TagSpecification.%d.Tag.%d.Key)", i, j)
			case len(t.Key) > 128 || len(t.Value) > 256:
				return nil, apiErr(CodeInvalidParameterValue, "Tag keys are at most 128 characters and values at most 256")
			case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
				return nil, apiErr(CodeInvalidParameterValue, "Tag keys starting with 'aws:' are reserved for internal use")
			}
			if rt == "instance" {
				r.Tags = append(r.Tags, t)
			}
		}
	}
	return r, nil
}

func count(form url.Values, name string) (int, error) {
	v := form.Get(name)
	if v == "" {
		return 0, apiErr(CodeMissingParameter, "The request must contain the parameter %s", name)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLaunch {
		return 0, apiErr(CodeInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expecting a value between 1 and %d.", truncate(v), name, MaxLaunch)
	}
	return n, nil
}

func decodeDescribe(form url.Values) (*DescribeRequest, error) {
	d := &DescribeRequest{NextToken: form.Get("NextToken")}
	var err error
	if d.IDs, err = list(form, "InstanceId"); err != nil {
		return nil, err
	}
	if v := form.Get("MaxResults"); v != "" {
		if d.MaxResults, err = strconv.Atoi(v); err != nil || d.MaxResults <= 0 {
			return nil, apiErr(CodeInvalidParameterValue, "Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", truncate(v))
		}
	}
	fs, err := groups(form, "Filter")
	if err != nil {
		return nil, err
	}
	for _, i := range sortedIndices(fs) {
		name := fs[i].Get("Name")
		if name == "" {
			return nil, apiErr(CodeMissingParameter, "The request must contain the parameter Filter.%d.Name", i)
		}
		vals, err := list(fs[i], "Value")
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, apiErr(CodeInvalidParameterValue, "The filter '%s' has no values", truncate(name))
		}
		d.Filters = append(d.Filters, Filter{Name: name, Values: vals})
	}
	return d, nil
}

// index parses the N of "Prefix.N..." (1-based, at most maxIndex).
func index(s, key string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxIndex {
		return 0, apiErr(CodeInvalidParameterValue, "Invalid parameter %s: list indices are 1 to %d", truncate(key), maxIndex)
	}
	return n, nil
}

// list returns the values of Prefix.1, Prefix.2, ... in index order.
func list(form url.Values, prefix string) ([]string, error) {
	byIdx := map[int]string{}
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, prefix+".")
		if !ok || strings.Contains(rest, ".") || len(vals) == 0 {
			continue
		}
		n, err := index(rest, key)
		if err != nil {
			return nil, err
		}
		byIdx[n] = vals[0]
	}
	out := make([]string, 0, len(byIdx))
	for _, n := range sortedIndices(byIdx) {
		out = append(out, byIdx[n])
	}
	return out, nil
}

// groups splits Prefix.N.Rest=v into one url.Values per N holding Rest=v.
func groups(form url.Values, prefix string) (map[int]url.Values, error) {
	out := map[int]url.Values{}
	for key, vals := range form {
		rest, ok := strings.CutPrefix(key, prefix+".")
		if !ok {
			continue
		}
		num, sub, ok := strings.Cut(rest, ".")
		if !ok || sub == "" {
			return nil, apiErr(CodeInvalidParameterValue, "Invalid parameter %s", truncate(key))
		}
		n, err := index(num, key)
		if err != nil {
			return nil, err
		}
		if out[n] == nil {
			if len(out) >= maxIndex {
				return nil, apiErr(CodeInvalidParameterValue, "Too many %s entries", prefix)
			}
			out[n] = url.Values{}
		}
		out[n][sub] = vals
	}
	return out, nil
}

// sortedIndices returns the keys of m in ascending order.
func sortedIndices[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
