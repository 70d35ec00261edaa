package sqs

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps each to SQS's __type and
// x-amzn-query-error code in one place (writeError).
var (
	// ErrQueueDoesNotExist: the queue URL or name names no queue.
	ErrQueueDoesNotExist = errors.New("the specified queue does not exist")
	// ErrQueueNameExists: CreateQueue with a name in use and different attributes.
	ErrQueueNameExists = errors.New("a queue already exists with the same name and a different value for attribute")
	// ErrReceiptHandleIsInvalid: a receipt handle this queue never issued.
	ErrReceiptHandleIsInvalid = errors.New("the input receipt handle is invalid")
	// ErrInvalidAttributeName: an attribute name SQS does not know (or this mock does not serve).
	ErrInvalidAttributeName = errors.New("unknown attribute")
	// ErrInvalidAttributeValue: a queue attribute out of its range.
	ErrInvalidAttributeValue = errors.New("invalid value for the parameter")
	// ErrInvalidParameterValue: a request parameter out of its range.
	ErrInvalidParameterValue = errors.New("invalid parameter value")
	// ErrMissingParameter: a required parameter is absent.
	ErrMissingParameter = errors.New("missing required parameter")
	// ErrInvalidMessageContents: a body with characters SQS refuses.
	ErrInvalidMessageContents = errors.New("invalid characters found")
	// ErrUnsupportedOperation: a feature this mock does not model (FIFO queues).
	ErrUnsupportedOperation = errors.New("unsupported operation")
)

// Queue attribute limits, as SQS documents them.
const (
	maxVisibility = 12 * time.Hour
	maxDelay      = 15 * time.Minute
	maxWait       = 20 * time.Second
	minRetention  = time.Minute
	maxRetention  = 14 * 24 * time.Hour
	maxMessageMax = 1 << 20
	minMessageMax = 1024
)

// CoreConfig parameterises the queues.
type CoreConfig struct {
	// AccountID is the account every queue belongs to (in URLs and ARNs).
	AccountID string
	// Region is in every queue ARN.
	Region string
	// URLBase is what queue URLs start with (the transport's own URL, so a
	// client that follows a queue URL reaches this server).
	URLBase string
}

func (c *CoreConfig) validate() error {
	if c.AccountID == "" {
		c.AccountID = "000000000000"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.URLBase == "" {
		c.URLBase = "https://sqs." + c.Region + ".amazonaws.com"
	}
	c.URLBase = strings.TrimRight(c.URLBase, "/")
	if len(c.AccountID) != 12 || strings.Trim(c.AccountID, "0123456789") != "" {
		return fmt.Errorf("account id %q: must be 12 digits", c.AccountID)
	}
	return nil
}

// Message is one message as ReceiveMessage hands it out.
type Message struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes are the system attributes asked for (SentTimestamp,
	// ApproximateReceiveCount, ApproximateFirstReceiveTimestamp, SenderId).
	Attributes map[string]string
}

// SendResult is what SendMessage returns.
type SendResult struct {
	MessageID string
	MD5OfBody string
}

// ReceiveRequest is a ReceiveMessage call's parameters, validated by the
// core. Nil pointers take the queue's defaults.
type ReceiveRequest struct {
	QueueURL       string
	Max            int
	Visibility     *int
	AttributeNames []string
}

type message struct {
	id, body, md5 string
	sent          time.Time
	visibleAt     time.Time
	receives      int
	firstReceive  time.Time
	receipt       string // the most recent receipt handle
}

type queue struct {
	name, url, arn    string
	created, modified time.Time
	attrs             map[string]string // as created, for the QueueNameExists comparison
	visibility, delay time.Duration
	wait, retention   time.Duration
	maxSize           int
	msgs              []*message
	byReceipt         map[string]*message
}

// Core is the queues. It is not safe for concurrent use: the transport
// serialises calls. Time comes from the clock, ids from rng.
type Core struct {
	cfg    CoreConfig
	clock  kit.Clock
	rng    *rand.Rand
	queues map[string]*queue // by name
	seq    uint64
}

// NewCore returns a core; it returns an error for a bad config.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sqs core: %w", err)
	}
	if rng == nil {
		rng = rand.New(rand.NewSource(1))
	}
	return &Core{cfg: cfg, clock: clock, rng: rng, queues: map[string]*queue{}}, nil
}

// Config returns the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

func validQueueName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: QueueName", ErrMissingParameter)
	}
	if strings.HasSuffix(name, ".fifo") {
		return fmt.Errorf("%w: FIFO queues are not modelled (queue %q)", ErrUnsupportedOperation, name)
	}
	if len(name) > 80 || strings.TrimFunc(name, func(r rune) bool {
		return r == '-' || r == '_' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) != "" {
		return fmt.Errorf("%w: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length", ErrInvalidParameterValue)
	}
	return nil
}

// settable are the attributes CreateQueue accepts, with their defaults.
var settable = map[string]string{
	"VisibilityTimeout":             "30",
	"DelaySeconds":                  "0",
	"ReceiveMessageWaitTimeSeconds": "0",
	"MessageRetentionPeriod":        "345600",
	"MaximumMessageSize":            "262144",
}

func secondsAttr(attrs map[string]string, name string, lo, hi time.Duration) (time.Duration, error) {
	v, err := strconv.Atoi(attrs[name])
	if err != nil || time.Duration(v)*time.Second < lo || time.Duration(v)*time.Second > hi {
		return 0, fmt.Errorf("%w: %s: %q (valid: %d to %d)", ErrInvalidAttributeValue, name, attrs[name], int(lo.Seconds()), int(hi.Seconds()))
	}
	return time.Duration(v) * time.Second, nil
}

// CreateQueue creates a standard queue, or returns the URL of the queue of
// that name when its attributes are the same.
func (c *Core) CreateQueue(name string, attrs map[string]string) (string, error) {
	if err := validQueueName(name); err != nil {
		return "", err
	}
	full := map[string]string{}
	for k, v := range settable {
		full[k] = v
	}
	for k, v := range attrs {
		if _, ok := settable[k]; !ok {
			if k == "FifoQueue" || k == "ContentBasedDeduplication" {
				return "", fmt.Errorf("%w: FIFO queues are not modelled (attribute %s)", ErrUnsupportedOperation, k)
			}
			return "", fmt.Errorf("%w: %s", ErrInvalidAttributeName, k)
		}
		full[k] = v
	}
	q := &queue{name: name, attrs: full, byReceipt: map[string]*message{}}
	var err error
	if q.visibility, err = secondsAttr(full, "VisibilityTimeout", 0, maxVisibility); err != nil {
		return "", err
	}
	if q.delay, err = secondsAttr(full, "DelaySeconds", 0, maxDelay); err != nil {
		return "", err
	}
	if q.wait, err = secondsAttr(full, "ReceiveMessageWaitTimeSeconds", 0, maxWait); err != nil {
		return "", err
	}
	if q.retention, err = secondsAttr(full, "MessageRetentionPeriod", minRetention, maxRetention); err != nil {
		return "", err
	}
	size, err := strconv.Atoi(full["MaximumMessageSize"])
	if err != nil || size < minMessageMax || size > maxMessageMax {
		return "", fmt.Errorf("%w: MaximumMessageSize: %q (valid: %d to %d)", ErrInvalidAttributeValue, full["MaximumMessageSize"], minMessageMax, maxMessageMax)
	}
	q.maxSize = size
	if old, ok := c.queues[name]; ok {
		for k, v := range full {
			if old.attrs[k] != v {
				return "", fmt.Errorf("%w: %s", ErrQueueNameExists, k)
			}
		}
		return old.url, nil
	}
	now := c.clock.Now()
	q.created, q.modified = now, now
	q.url = c.cfg.URLBase + "/" + c.cfg.AccountID + "/" + name
	q.arn = "arn:aws:sqs:" + c.cfg.Region + ":" + c.cfg.AccountID + ":" + name
	c.queues[name] = q
	return q.url, nil
}

// QueueURL returns the URL of the queue named name.
func (c *Core) QueueURL(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: QueueName", ErrMissingParameter)
	}
	q, ok := c.queues[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrQueueDoesNotExist, name)
	}
	return q.url, nil
}

// lookup finds a queue by URL. Only the path's last two segments
// (account/name) count, so a URL with the real regional host reaches the
// same queue, as SQS ignores the host a request was sent to.
func (c *Core) lookup(url string) (*queue, error) {
	if url == "" {
		return nil, fmt.Errorf("%w: QueueUrl", ErrMissingParameter)
	}
	parts := strings.Split(strings.TrimRight(url, "/"), "/")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%w: %q", ErrQueueDoesNotExist, url)
	}
	acct, name := parts[len(parts)-2], parts[len(parts)-1]
	q, ok := c.queues[name]
	if !ok || acct != c.cfg.AccountID {
		return nil, fmt.Errorf("%w: %q", ErrQueueDoesNotExist, url)
	}
	return q, nil
}

// validBody reports characters outside the set SQS allows:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBody(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// MD5Hex is the hex MD5 of s, as SQS reports MD5OfMessageBody (and the SDKs
// verify it).
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (c *Core) newID() string {
	b := make([]byte, 16)
	c.rng.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// SendMessage enqueues body; delay nil takes the queue's DelaySeconds.
func (c *Core) SendMessage(url, body string, delay *int) (SendResult, error) {
	q, err := c.lookup(url)
	if err != nil {
		return SendResult{}, err
	}
	if body == "" {
		return SendResult{}, fmt.Errorf("%w: MessageBody", ErrMissingParameter)
	}
	if len(body) > q.maxSize {
		return SendResult{}, fmt.Errorf("%w: One or more parameters are invalid. Reason: Message must be shorter than %d bytes", ErrInvalidParameterValue, q.maxSize)
	}
	if !validBody(body) {
		return SendResult{}, fmt.Errorf("%w: in the message body", ErrInvalidMessageContents)
	}
	d := q.delay
	if delay != nil {
		if *delay < 0 || time.Duration(*delay)*time.Second > maxDelay {
			return SendResult{}, fmt.Errorf("%w: Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900", ErrInvalidParameterValue, *delay)
		}
		d = time.Duration(*delay) * time.Second
	}
	now := c.clock.Now()
	m := &message{id: c.newID(), body: body, md5: MD5Hex(body), sent: now, visibleAt: now.Add(d)}
	q.msgs = append(q.msgs, m)
	return SendResult{MessageID: m.id, MD5OfBody: m.md5}, nil
}

// messageAttrs are the system attributes ReceiveMessage can return.
var messageAttrs = []string{"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"}

// Receive hands out up to req.Max visible messages, oldest first, and hides
// each for the visibility timeout. It never waits: an empty result with
// Next tells the transport's long poll when to ask again.
func (c *Core) Receive(req ReceiveRequest) ([]Message, error) {
	q, err := c.lookup(req.QueueURL)
	if err != nil {
		return nil, err
	}
	if req.Max < 1 || req.Max > 10 {
		return nil, fmt.Errorf("%w: Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", ErrInvalidParameterValue, req.Max)
	}
	vis := q.visibility
	if req.Visibility != nil {
		if *req.Visibility < 0 || time.Duration(*req.Visibility)*time.Second > maxVisibility {
			return nil, fmt.Errorf("%w: Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", ErrInvalidParameterValue, *req.Visibility)
		}
		vis = time.Duration(*req.Visibility) * time.Second
	}
	want := map[string]bool{}
	for _, a := range req.AttributeNames {
		switch {
		case a == "All":
			for _, n := range messageAttrs {
				want[n] = true
			}
		case slices.Contains(messageAttrs, a):
			want[a] = true
		default:
			// SQS ignores message system attributes it does not return
			// (AWSTraceHeader, MessageGroupId on a standard queue).
		}
	}
	now := c.clock.Now()
	c.expire(q, now)
	var out []Message
	for _, m := range q.msgs {
		if len(out) == req.Max {
			break
		}
		if m.visibleAt.After(now) {
			continue
		}
		if m.receipt != "" {
			delete(q.byReceipt, m.receipt)
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(vis)
		c.seq++
		m.receipt = base64.StdEncoding.EncodeToString([]byte(q.name + " " + m.id + " " + strconv.FormatUint(c.seq, 10)))
		q.byReceipt[m.receipt] = m
		msg := Message{MessageID: m.id, ReceiptHandle: m.receipt, Body: m.body, MD5OfBody: m.md5}
		if len(want) > 0 {
			msg.Attributes = map[string]string{}
			ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
			for n := range want {
				switch n {
				case "ApproximateFirstReceiveTimestamp":
					msg.Attributes[n] = ms(m.firstReceive)
				case "ApproximateReceiveCount":
					msg.Attributes[n] = strconv.Itoa(m.receives)
				case "SenderId":
					msg.Attributes[n] = "AIDACASCADE"
				case "SentTimestamp":
					msg.Attributes[n] = ms(m.sent)
				}
			}
		}
		out = append(out, msg)
	}
	return out, nil
}

// Next is when a message of the queue at url next becomes visible (a
// delayed or in-flight one), or the zero time when none is waiting to.
func (c *Core) Next(url string) time.Time {
	q, err := c.lookup(url)
	if err != nil {
		return time.Time{}
	}
	now := c.clock.Now()
	var next time.Time
	for _, m := range q.msgs {
		if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next
}

// WaitTime is the queue's ReceiveMessageWaitTimeSeconds, the long poll a
// receive without WaitTimeSeconds gets.
func (c *Core) WaitTime(url string) (time.Duration, error) {
	q, err := c.lookup(url)
	if err != nil {
		return 0, err
	}
	return q.wait, nil
}

// expire drops messages older than the retention period.
func (c *Core) expire(q *queue, now time.Time) {
	keep := q.msgs[:0]
	for _, m := range q.msgs {
		if now.Sub(m.sent) >= q.retention {
			delete(q.byReceipt, m.receipt)
			continue
		}
		keep = append(keep, m)
	}
	clear(q.msgs[len(keep):])
	q.msgs = keep
}

// DeleteMessage deletes the message the receipt handle was issued for. As
// in SQS, a handle superseded by a later receive, or of a message already
// deleted, succeeds without deleting anything; a handle this queue never
// issued is ReceiptHandleIsInvalid.
func (c *Core) DeleteMessage(url, receipt string) error {
	q, err := c.lookup(url)
	if err != nil {
		return err
	}
	if receipt == "" {
		return fmt.Errorf("%w: ReceiptHandle", ErrMissingParameter)
	}
	raw, err := base64.StdEncoding.DecodeString(receipt)
	if err != nil || !strings.HasPrefix(string(raw), q.name+" ") {
		return fmt.Errorf("%w: The input receipt handle %q is not a valid receipt handle", ErrReceiptHandleIsInvalid, receipt)
	}
	m, ok := q.byReceipt[receipt]
	if !ok {
		return nil
	}
	delete(q.byReceipt, receipt)
	i := slices.Index(q.msgs, m)
	q.msgs = slices.Delete(q.msgs, i, i+1)
	return nil
}

// queueAttrs are the attributes GetQueueAttributes serves.
var queueAttrs = []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
	"ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "DelaySeconds", "LastModifiedTimestamp",
	"MaximumMessageSize", "MessageRetentionPeriod", "QueueArn", "ReceiveMessageWaitTimeSeconds",
	"SqsManagedSseEnabled", "VisibilityTimeout"}

// Attributes returns the named attributes ("All" for every one).
func (c *Core) Attributes(url string, names []string) (map[string]string, error) {
	q, err := c.lookup(url)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		switch {
		case n == "All":
			for _, a := range queueAttrs {
				want[a] = true
			}
		case slices.Contains(queueAttrs, n):
			want[n] = true
		case n == "Policy" || n == "RedrivePolicy" || n == "RedriveAllowPolicy" || n == "KmsMasterKeyId" ||
			n == "KmsDataKeyReusePeriodSeconds" || n == "FifoQueue" || n == "ContentBasedDeduplication" ||
			n == "DeduplicationScope" || n == "FifoThroughputLimit":
			// valid names this queue has no value for: SQS leaves them out
		default:
			return nil, fmt.Errorf("%w: %s", ErrInvalidAttributeName, n)
		}
	}
	now := c.clock.Now()
	c.expire(q, now)
	var visible, inflight, delayed int
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.receives > 0:
			inflight++
		default:
			delayed++
		}
	}
	all := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.modified.Unix(), 10),
		"QueueArn":                              q.arn,
		"SqsManagedSseEnabled":                  "false",
	}
	for k := range settable {
		all[k] = q.attrs[k]
	}
	out := map[string]string{}
	for n := range want {
		out[n] = all[n]
	}
	return out, nil
}

// QueueStats is one queue's depth, for the admin API and events.
type QueueStats struct {
	Name     string `json:"name"`
	Visible  int    `json:"visible"`
	InFlight int    `json:"inFlight"`
	Delayed  int    `json:"delayed"`
}

// Stats returns every queue's depth, by name.
func (c *Core) Stats() []QueueStats {
	names := make([]string, 0, len(c.queues))
	for n := range c.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]QueueStats, 0, len(names))
	for _, n := range names {
		a, _ := c.Attributes(c.queues[n].url, []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"})
		v, _ := strconv.Atoi(a["ApproximateNumberOfMessages"])
		f, _ := strconv.Atoi(a["ApproximateNumberOfMessagesNotVisible"])
		d, _ := strconv.Atoi(a["ApproximateNumberOfMessagesDelayed"])
		out = append(out, QueueStats{Name: n, Visible: v, InFlight: f, Delayed: d})
	}
	return out
}
