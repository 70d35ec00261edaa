package route53

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Namespace is the XML namespace of every Route53 request and response.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// apiPrefix is the path prefix of every operation.
const apiPrefix = "/2013-04-01/"

// Error codes of the transport itself (the store's are in core.go).
const (
	codeMissingToken   = "MissingAuthenticationToken"
	codeThrottling     = "Throttling"
	codePriorRequest   = "PriorRequestNotComplete"
	codeInternal       = "InternalError"
	codeTooLarge       = "RequestEntityTooLarge"
	codeUnknownOp      = "UnknownOperationException"
	codeMethodNotAllow = "MethodNotAllowed"
)

// statusOf maps an error code to its HTTP status: the one place Route53
// errors meet the wire.
func statusOf(code string) int {
	switch code {
	case CodeNoSuchHostedZone, CodeNoSuchChange, codeUnknownOp:
		return http.StatusNotFound
	case CodeHostedZoneAlreadyExists:
		return http.StatusConflict
	case codeMissingToken:
		return http.StatusForbidden
	case codeInternal:
		return http.StatusInternalServerError
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeMethodNotAllow:
		return http.StatusMethodNotAllowed
	}
	return http.StatusBadRequest
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type     string   `xml:"Type"`
	Code     string   `xml:"Code"`
	Message  string   `xml:"Message"`
	Messages *xmlMsgs `xml:"Messages,omitempty"`
}

type xmlMsgs struct {
	Message []string `xml:"Message"`
}

// apiRequest is one API call being served.
type apiRequest struct {
	w      http.ResponseWriter
	r      *http.Request
	action string
	reqID  string
	id     string // the path's zone or change ID
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	req := &apiRequest{w: w, r: r, action: "Unknown", reqID: s.newRequestID()}
	w.Header().Set("x-amzn-RequestId", req.reqID)
	handler, action, allowed := s.route(r.Method, r.URL.Path)
	if action != "" {
		req.action = action
	}
	if r.Header.Get("Authorization") == "" {
		s.fail(req, &Error{Code: codeMissingToken, Message: "Missing Authentication Token"})
		return
	}
	if handler == nil {
		if allowed != "" {
			w.Header().Set("Allow", allowed)
			s.fail(req, &Error{Code: codeMethodNotAllow, Message: fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allowed)})
			return
		}
		s.fail(req, &Error{Code: codeUnknownOp, Message: fmt.Sprintf("Unknown operation %s %s", r.Method, r.URL.Path)})
		return
	}
	if v, fire := s.fpAPIError.Eval(r.Context()); fire {
		s.fail(req, FailpointAPIError(v))
		return
	}
	handler(req)
}

// route finds the handler and action name of method+path; allowed lists the
// methods of a known path when method is not one of them.
func (s *Server) route(method, path string) (handler func(*apiRequest), action, allowed string) {
	if !strings.HasPrefix(path, apiPrefix) {
		return nil, "", ""
	}
	seg := strings.Split(strings.TrimSuffix(strings.TrimPrefix(path, apiPrefix), "/"), "/")
	type op struct {
		h      func(*apiRequest)
		action string
	}
	var ops map[string]op
	var id string
	switch {
	case len(seg) == 1 && seg[0] == "hostedzone":
		ops = map[string]op{"POST": {s.ZoneCreate, "CreateHostedZone"}, "GET": {s.ZoneList, "ListHostedZones"}}
	case len(seg) == 1 && seg[0] == "hostedzonesbyname":
		ops = map[string]op{"GET": {s.ZoneListByName, "ListHostedZonesByName"}}
	case len(seg) == 2 && seg[0] == "hostedzone":
		id = seg[1]
		ops = map[string]op{"GET": {s.ZoneGet, "GetHostedZone"}}
	case len(seg) == 3 && seg[0] == "hostedzone" && seg[2] == "rrset":
		id = seg[1]
		ops = map[string]op{"POST": {s.RecordSetChange, "ChangeResourceRecordSets"}, "GET": {s.RecordSetList, "ListResourceRecordSets"}}
	case len(seg) == 2 && seg[0] == "change":
		id = seg[1]
		ops = map[string]op{"GET": {s.ChangeGet, "GetChange"}}
	default:
		return nil, "", ""
	}
	if o, ok := ops[method]; ok {
		return func(req *apiRequest) { req.id = id; o.h(req) }, o.action, ""
	}
	methods := make([]string, 0, len(ops))
	for m := range ops {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	return nil, "", strings.Join(methods, ", ")
}

func (s *Server) newRequestID() string {
	n := s.requestSeq.Add(1)
	return fmt.Sprintf("cascade0-0000-4000-8000-%012x", n)
}

// fail writes err in Route53's error shape.
func (s *Server) fail(req *apiRequest, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: codeInternal, Message: err.Error()}
	}
	status := statusOf(e.Code)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	body := xmlErrorResponse{Xmlns: Namespace, RequestID: req.reqID, Error: xmlError{Type: typ, Code: e.Code, Message: e.message()}}
	if len(e.Messages) > 0 {
		// InvalidChangeBatch: the SDK reads both the bracketed Message and
		// the Messages list (types.InvalidChangeBatch.Messages).
		body.Error.Messages = &xmlMsgs{Message: e.Messages}
	}
	s.apiRequests.WithLabelValues(req.action, e.Code).Inc()
	s.writeXML(req.w, status, body)
}

// view builds a read handler's response under the read lock and writes it, or
// build's error, once the lock is released: encoding and the network write
// never hold up the store's writers.
func (s *Server) view(req *apiRequest, build func() (any, error)) {
	s.mu.RLock()
	out, err := build()
	s.mu.RUnlock()
	if err != nil {
		s.fail(req, err)
		return
	}
	s.ok(req, http.StatusOK, out)
}

// viewByID is view for a read of the one thing the path's id names: get
// finds it in the store, reply shapes the response.
func viewByID[T any](s *Server, req *apiRequest, get func(id string) (T, error), reply func(T) any) {
	s.view(req, func() (any, error) {
		v, err := get(req.id)
		if err != nil {
			return nil, err
		}
		return reply(v), nil
	})
}

func (s *Server) ok(req *apiRequest, status int, v any) {
	s.apiRequests.WithLabelValues(req.action, "ok").Inc()
	s.writeXML(req.w, status, v)
}

func (s *Server) writeXML(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// readBody reads the request body within MaxBodyBytes.
func (s *Server) readBody(req *apiRequest) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, errInput("Could not read the request body: %v", err)
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, &Error{Code: codeTooLarge, Message: fmt.Sprintf("Request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	}
	return body, nil
}

func decodeXML(body []byte, v any) error {
	// Decode checks the root element's name through v's XMLName field.
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		return errInput("Invalid XML ; %v", err)
	}
	return nil
}

// ----- XML shapes -----

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

func changeInfoXML(ci ChangeInfo) xmlChangeInfo {
	return xmlChangeInfo{ID: "/change/" + ci.ID, Status: ci.Status, SubmittedAt: ci.SubmittedAt.UTC().Format("2006-01-02T15:04:05.000Z"), Comment: ci.Comment}
}

type xmlZoneConfig struct {
	Comment     string `xml:"Comment,omitempty"`
	PrivateZone bool   `xml:"PrivateZone"`
}

type xmlHostedZone struct {
	ID                     string        `xml:"Id"`
	Name                   string        `xml:"Name"`
	CallerReference        string        `xml:"CallerReference"`
	Config                 xmlZoneConfig `xml:"Config"`
	ResourceRecordSetCount int           `xml:"ResourceRecordSetCount"`
}

func zoneXML(z *HostedZone) xmlHostedZone {
	return xmlHostedZone{ID: "/hostedzone/" + z.ID, Name: z.Name, CallerReference: z.CallerReference, Config: xmlZoneConfig{Comment: z.Comment}, ResourceRecordSetCount: z.RecordSetCount()}
}

type xmlDelegationSet struct {
	NameServers []string `xml:"NameServers>NameServer"`
}

type xmlAlias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth string `xml:"EvaluateTargetHealth"`
}

type xmlValue struct {
	Value string `xml:"Value"`
}

type xmlRecords struct {
	Record []xmlValue `xml:"ResourceRecord"`
}

// xmlRRSet is a ResourceRecordSet in requests and responses. Numbers are
// strings so a bad number is reported as InvalidInput rather than lost.
type xmlRRSet struct {
	Name          string      `xml:"Name"`
	Type          string      `xml:"Type"`
	SetIdentifier string      `xml:"SetIdentifier,omitempty"`
	Weight        *string     `xml:"Weight"`
	TTL           *string     `xml:"TTL"`
	Records       *xmlRecords `xml:"ResourceRecords"`
	Alias         *xmlAlias   `xml:"AliasTarget"`
	// Routing policies the mock does not implement; their presence is refused.
	Region                  *string   `xml:"Region"`
	Failover                *string   `xml:"Failover"`
	MultiValueAnswer        *string   `xml:"MultiValueAnswer"`
	HealthCheckID           *string   `xml:"HealthCheckId"`
	TrafficPolicyInstanceID *string   `xml:"TrafficPolicyInstanceId"`
	GeoLocation             *struct{} `xml:"GeoLocation"`
	GeoProximityLocation    *struct{} `xml:"GeoProximityLocation"`
	CidrRoutingConfig       *struct{} `xml:"CidrRoutingConfig"`
}

func rrsetXML(rs RecordSet) xmlRRSet {
	x := xmlRRSet{Name: rs.Name, Type: rs.Type, SetIdentifier: rs.SetIdentifier}
	if rs.Weight != nil {
		v := strconv.FormatInt(*rs.Weight, 10)
		x.Weight = &v
	}
	if rs.TTL != nil {
		v := strconv.FormatInt(*rs.TTL, 10)
		x.TTL = &v
	}
	if rs.Alias != nil {
		x.Alias = &xmlAlias{HostedZoneID: rs.Alias.HostedZoneID, DNSName: rs.Alias.DNSName, EvaluateTargetHealth: strconv.FormatBool(rs.Alias.EvaluateTargetHealth)}
	} else {
		x.Records = &xmlRecords{}
		for _, v := range rs.Values {
			x.Records.Record = append(x.Records.Record, xmlValue{v})
		}
	}
	return x
}

type xmlChangeRequest struct {
	XMLName     xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	ChangeBatch *struct {
		Comment string `xml:"Comment"`
		Changes *struct {
			Change []struct {
				Action string    `xml:"Action"`
				Set    *xmlRRSet `xml:"ResourceRecordSet"`
			} `xml:"Change"`
		} `xml:"Changes"`
	} `xml:"ChangeBatch"`
}

// DecodeChangeBatch decodes a ChangeResourceRecordSetsRequest body into its
// changes and comment; errors are *Error (InvalidInput).
func DecodeChangeBatch(body []byte) ([]Change, string, error) {
	var x xmlChangeRequest
	if err := decodeXML(body, &x); err != nil {
		return nil, "", err
	}
	if x.ChangeBatch == nil || x.ChangeBatch.Changes == nil {
		return nil, "", errInput("Invalid request: Missing field 'ChangeBatch.Changes'")
	}
	changes := make([]Change, 0, len(x.ChangeBatch.Changes.Change))
	for i, c := range x.ChangeBatch.Changes.Change {
		if c.Set == nil {
			return nil, "", errInput("Invalid request: Missing field 'ResourceRecordSet' in change %d", i+1)
		}
		rs, err := fromXML(i+1, c.Set)
		if err != nil {
			return nil, "", err
		}
		changes = append(changes, Change{Action: strings.TrimSpace(c.Action), Set: rs})
	}
	return changes, x.ChangeBatch.Comment, nil
}

func fromXML(i int, x *xmlRRSet) (RecordSet, error) {
	if x.Region != nil || x.Failover != nil || x.MultiValueAnswer != nil || x.HealthCheckID != nil ||
		x.TrafficPolicyInstanceID != nil || x.GeoLocation != nil || x.GeoProximityLocation != nil || x.CidrRoutingConfig != nil {
		return RecordSet{}, errInput("Invalid request: change %d uses a routing policy or health check this mock does not implement (simple and weighted routing only)", i)
	}
	rs := RecordSet{Name: strings.TrimSpace(x.Name), Type: strings.TrimSpace(x.Type), SetIdentifier: x.SetIdentifier}
	num := func(field string, p *string) (*int64, error) {
		if p == nil {
			return nil, nil
		}
		v, err := strconv.ParseInt(strings.TrimSpace(*p), 10, 64)
		if err != nil {
			return nil, errInput("Invalid XML ; '%s' is not a valid value for '%s' in change %d", *p, field, i)
		}
		return &v, nil
	}
	var err error
	if rs.Weight, err = num("Weight", x.Weight); err != nil {
		return rs, err
	}
	if rs.TTL, err = num("TTL", x.TTL); err != nil {
		return rs, err
	}
	if x.Records != nil {
		for _, v := range x.Records.Record {
			rs.Values = append(rs.Values, v.Value)
		}
	}
	if x.Alias != nil {
		eth, err := strconv.ParseBool(strings.TrimSpace(x.Alias.EvaluateTargetHealth))
		if err != nil && strings.TrimSpace(x.Alias.EvaluateTargetHealth) != "" {
			return rs, errInput("Invalid XML ; '%s' is not a valid value for 'EvaluateTargetHealth' in change %d", x.Alias.EvaluateTargetHealth, i)
		}
		rs.Alias = &AliasTarget{HostedZoneID: strings.TrimSpace(x.Alias.HostedZoneID), DNSName: strings.TrimSpace(x.Alias.DNSName), EvaluateTargetHealth: eth}
	}
	return rs, nil
}

// ----- handlers -----

type xmlCreateZoneRequest struct {
	XMLName          xml.Name `xml:"CreateHostedZoneRequest"`
	Name             string   `xml:"Name"`
	CallerReference  string   `xml:"CallerReference"`
	HostedZoneConfig *struct {
		Comment     string `xml:"Comment"`
		PrivateZone string `xml:"PrivateZone"`
	} `xml:"HostedZoneConfig"`
	VPC *struct{} `xml:"VPC"`
}

type xmlCreateZoneResponse struct {
	XMLName       xml.Name         `xml:"CreateHostedZoneResponse"`
	Xmlns         string           `xml:"xmlns,attr"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	ChangeInfo    xmlChangeInfo    `xml:"ChangeInfo"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

// ZoneCreate serves CreateHostedZone.
func (s *Server) ZoneCreate(req *apiRequest) {
	body, err := s.readBody(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	var x xmlCreateZoneRequest
	if err := decodeXML(body, &x); err != nil {
		s.fail(req, err)
		return
	}
	if x.VPC != nil || x.HostedZoneConfig != nil && strings.TrimSpace(x.HostedZoneConfig.PrivateZone) == "true" {
		s.fail(req, errInput("Invalid request: private hosted zones are not supported by this mock"))
		return
	}
	comment := ""
	if x.HostedZoneConfig != nil {
		comment = x.HostedZoneConfig.Comment
	}
	s.mu.Lock()
	z, ci, err := s.store.CreateZone(x.Name, x.CallerReference, comment)
	var out xmlCreateZoneResponse
	if err == nil {
		out = xmlCreateZoneResponse{Xmlns: Namespace, HostedZone: zoneXML(z), ChangeInfo: changeInfoXML(ci), DelegationSet: xmlDelegationSet{NameServers: NameServers()}}
		s.records.Store(int64(s.store.Records()))
	}
	s.mu.Unlock()
	if err != nil {
		s.fail(req, err)
		return
	}
	s.env.Events.Emit("zone-created", "zone", z.ID, "name", z.Name)
	req.w.Header().Set("Location", "http://"+req.r.Host+apiPrefix+"hostedzone/"+z.ID)
	s.ok(req, http.StatusCreated, out)
}

type xmlListZonesResponse struct {
	XMLName     xml.Name        `xml:"ListHostedZonesResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	HostedZones []xmlHostedZone `xml:"HostedZones>HostedZone"`
	Marker      string          `xml:"Marker"`
	IsTruncated bool            `xml:"IsTruncated"`
	NextMarker  string          `xml:"NextMarker,omitempty"`
	MaxItems    int             `xml:"MaxItems"`
}

// pageZones is the first max of zones as XML (never nil: an empty list is
// still an element) and the first zone left out, nil when none is.
func pageZones(zones []*HostedZone, max int) ([]xmlHostedZone, *HostedZone) {
	out := []xmlHostedZone{}
	for _, z := range zones {
		if len(out) == max {
			return out, z
		}
		out = append(out, zoneXML(z))
	}
	return out, nil
}

func queryMaxItems(req *apiRequest, def, limit int) (int, error) {
	v := req.r.URL.Query().Get("maxitems")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errInput("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", v)
	}
	if n == 0 || n > limit {
		n = limit
	}
	return n, nil
}

// ZoneList serves ListHostedZones (zones in creation order; the marker is a
// zone ID).
func (s *Server) ZoneList(req *apiRequest) {
	max, err := queryMaxItems(req, 100, 100)
	if err != nil {
		s.fail(req, err)
		return
	}
	marker := req.r.URL.Query().Get("marker")
	s.view(req, func() (any, error) {
		out := xmlListZonesResponse{Xmlns: Namespace, Marker: marker, MaxItems: max}
		zones := s.store.Zones()
		start := 0
		if marker != "" {
			start = slices.IndexFunc(zones, func(z *HostedZone) bool { return z.ID == strings.TrimPrefix(marker, "/hostedzone/") })
		}
		if start < 0 {
			return nil, errInput("The marker %s is not valid", marker)
		}
		var next *HostedZone
		if out.HostedZones, next = pageZones(zones[start:], max); next != nil {
			out.IsTruncated, out.NextMarker = true, next.ID
		}
		return out, nil
	})
}

type xmlListZonesByNameResponse struct {
	XMLName          xml.Name        `xml:"ListHostedZonesByNameResponse"`
	Xmlns            string          `xml:"xmlns,attr"`
	HostedZones      []xmlHostedZone `xml:"HostedZones>HostedZone"`
	DNSName          string          `xml:"DNSName,omitempty"`
	HostedZoneID     string          `xml:"HostedZoneId,omitempty"`
	IsTruncated      bool            `xml:"IsTruncated"`
	NextDNSName      string          `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string          `xml:"NextHostedZoneId,omitempty"`
	MaxItems         int             `xml:"MaxItems"`
}

// ZoneListByName serves ListHostedZonesByName (zones by name with labels
// reversed, starting at dnsname).
func (s *Server) ZoneListByName(req *apiRequest) {
	max, err := queryMaxItems(req, 100, 100)
	if err != nil {
		s.fail(req, err)
		return
	}
	q := req.r.URL.Query()
	out := xmlListZonesByNameResponse{Xmlns: Namespace, DNSName: q.Get("dnsname"), HostedZoneID: q.Get("hostedzoneid"), MaxItems: max}
	startKey := ""
	if out.DNSName != "" {
		cn, err := CanonicalName(out.DNSName)
		if err != nil {
			s.fail(req, &Error{Code: CodeInvalidDomainName, Message: fmt.Sprintf("%s is not a valid domain name", out.DNSName)})
			return
		}
		startKey = sortKey(cn)
	} else if out.HostedZoneID != "" {
		s.fail(req, errInput("The input is not valid: hostedzoneid requires dnsname"))
		return
	}
	s.view(req, func() (any, error) {
		zones := slices.Clone(s.store.Zones())
		slices.SortFunc(zones, func(a, b *HostedZone) int { return strings.Compare(sortKey(a.Name), sortKey(b.Name)) })
		// Sorted by key: the zones before dnsname are a prefix.
		start, _ := slices.BinarySearchFunc(zones, startKey, func(z *HostedZone, key string) int { return strings.Compare(sortKey(z.Name), key) })
		var next *HostedZone
		if out.HostedZones, next = pageZones(zones[start:], max); next != nil {
			out.IsTruncated, out.NextDNSName, out.NextHostedZoneID = true, next.Name, next.ID
		}
		return out, nil
	})
}

type xmlGetZoneResponse struct {
	XMLName       xml.Name         `xml:"GetHostedZoneResponse"`
	Xmlns         string           `xml:"xmlns,attr"`
	HostedZone    xmlHostedZone    `xml:"HostedZone"`
	DelegationSet xmlDelegationSet `xml:"DelegationSet"`
}

// ZoneGet serves GetHostedZone.
func (s *Server) ZoneGet(req *apiRequest) {
	viewByID(s, req, s.store.Zone, func(z *HostedZone) any {
		return xmlGetZoneResponse{Xmlns: Namespace, HostedZone: zoneXML(z), DelegationSet: xmlDelegationSet{NameServers: NameServers()}}
	})
}

type xmlChangeResponse struct {
	XMLName    xml.Name      `xml:"ChangeResourceRecordSetsResponse"`
	Xmlns      string        `xml:"xmlns,attr"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

// namesInEvent bounds the names an event lists.
const namesInEvent = 20

// RecordSetChange serves ChangeResourceRecordSets.
func (s *Server) RecordSetChange(req *apiRequest) {
	body, err := s.readBody(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	changes, comment, err := DecodeChangeBatch(body)
	if err != nil {
		s.reject(req, err)
		return
	}
	s.mu.Lock()
	applied, err := s.store.ChangeRecordSets(req.id, changes, comment)
	s.records.Store(int64(s.store.Records()))
	s.mu.Unlock()
	if err != nil {
		s.reject(req, err)
		return
	}
	names := applied.Names
	if len(names) > namesInEvent {
		names = names[:namesInEvent]
	}
	s.env.Events.Emit("change-applied", "change", applied.Change.ID, "zone", req.id, "changes", applied.Changes, "names", names, "namesTotal", len(applied.Names))
	s.ok(req, http.StatusOK, xmlChangeResponse{Xmlns: Namespace, ChangeInfo: changeInfoXML(applied.Change)})
}

func (s *Server) reject(req *apiRequest, err error) {
	var e *Error
	if errors.As(err, &e) {
		s.env.Events.Emit("change-rejected", "zone", req.id, "code", e.Code, "message", e.message())
	}
	s.fail(req, err)
}

type xmlListRRSetsResponse struct {
	XMLName              xml.Name   `xml:"ListResourceRecordSetsResponse"`
	Xmlns                string     `xml:"xmlns,attr"`
	ResourceRecordSets   []xmlRRSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated          bool       `xml:"IsTruncated"`
	NextRecordName       string     `xml:"NextRecordName,omitempty"`
	NextRecordType       string     `xml:"NextRecordType,omitempty"`
	NextRecordIdentifier string     `xml:"NextRecordIdentifier,omitempty"`
	MaxItems             int        `xml:"MaxItems"`
}

// RecordSetList serves ListResourceRecordSets.
func (s *Server) RecordSetList(req *apiRequest) {
	q := req.r.URL.Query()
	max, err := queryMaxItems(req, MaxListItems, MaxListItems)
	if err != nil {
		s.fail(req, err)
		return
	}
	s.view(req, func() (any, error) {
		p, err := s.store.List(req.id, q.Get("name"), q.Get("type"), q.Get("identifier"), max)
		if err != nil {
			return nil, err
		}
		out := xmlListRRSetsResponse{Xmlns: Namespace, IsTruncated: p.Truncated, NextRecordName: p.NextName, NextRecordType: p.NextType, NextRecordIdentifier: p.NextID, MaxItems: p.MaxItems, ResourceRecordSets: make([]xmlRRSet, 0, len(p.Sets))}
		for _, rs := range p.Sets {
			out.ResourceRecordSets = append(out.ResourceRecordSets, rrsetXML(rs))
		}
		return out, nil
	})
}

type xmlGetChangeResponse struct {
	XMLName    xml.Name      `xml:"GetChangeResponse"`
	Xmlns      string        `xml:"xmlns,attr"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

// ChangeGet serves GetChange; every change is INSYNC once accepted.
func (s *Server) ChangeGet(req *apiRequest) {
	viewByID(s, req, s.store.GetChange, func(ci ChangeInfo) any {
		return xmlGetChangeResponse{Xmlns: Namespace, ChangeInfo: changeInfoXML(ci)}
	})
}

// FailpointAPIError is the error the route53/api-error failpoint answers a
// call with for its value: Throttling, PriorRequestNotComplete, or an
// internal error carrying any other value.
func FailpointAPIError(v string) *Error {
	switch v {
	case codeThrottling:
		return &Error{Code: codeThrottling, Message: "Rate exceeded"}
	case codePriorRequest:
		return &Error{Code: codePriorRequest, Message: "The request was rejected because Route 53 was still processing a prior request."}
	}
	msg := "An internal error occurred"
	if v != "" {
		msg += ": " + v
	}
	return &Error{Code: codeInternal, Message: msg}
}
