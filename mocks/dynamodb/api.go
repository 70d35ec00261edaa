package dynamodb

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-lab/cascade/mocks/dynamodb/expr"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// TargetPrefix is the X-Amz-Target prefix of every DynamoDB operation.
const TargetPrefix = "DynamoDB_20120810."

// HealthBody is what real DynamoDB answers to GET /.
const HealthBody = "healthy: dynamodb.us-east-1.amazonaws.com"

// Operations lists the operations the mock serves, in the order the
// failpoints are registered.
var Operations = []string{
	"CreateTable", "DescribeTable", "ListTables", "DeleteTable",
	"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan",
	"BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
	"UpdateTimeToLive", "DescribeTimeToLive", "UpdateTable",
}

// operation is one API operation: how to decode and run it, its failpoint
// and its metrics.
type operation struct {
	name    string
	run     func(s *Server, body []byte) (any, error)
	fp      *kit.Failpoint
	ok      prometheus.Counter
	latency prometheus.Observer
}

// handle builds an operation runner: decode the body into I, call fn with
// the core locked. The lock is one mutex: the core is not safe for
// concurrent use, and its operations are short.
func handle[I any, O any](fn func(c *Core, in *I) (O, error)) func(s *Server, body []byte) (any, error) {
	return func(s *Server, body []byte) (any, error) {
		in := new(I)
		if err := decodeRequest(body, in); err != nil {
			return nil, err
		}
		s.mu.Lock()
		out, err := fn(s.core, in)
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

var runners = map[string]func(s *Server, body []byte) (any, error){
	"CreateTable":        handle((*Core).TableCreate),
	"DescribeTable":      handle((*Core).TableDescribe),
	"ListTables":         handle((*Core).TableList),
	"DeleteTable":        handle((*Core).TableDelete),
	"PutItem":            handle((*Core).ItemPut),
	"GetItem":            handle((*Core).ItemGet),
	"UpdateItem":         handle((*Core).ItemUpdate),
	"DeleteItem":         handle((*Core).ItemDelete),
	"Query":              handle((*Core).ItemQuery),
	"Scan":               handle((*Core).ItemScan),
	"BatchGetItem":       handle((*Core).ItemBatchGet),
	"BatchWriteItem":     handle((*Core).ItemBatchWrite),
	"TransactWriteItems": handle((*Core).ItemTransactWrite),
	"TransactGetItems":   handle((*Core).ItemTransactGet),
	"UpdateTimeToLive":   handle((*Core).TimeToLiveUpdate),
	"DescribeTimeToLive": handle((*Core).TimeToLiveDescribe),
	"UpdateTable":        handle((*Core).TableUpdate),
}

// DecodeRequest decodes a request body into in the way the transport does:
// JSON syntax and shape errors are SerializationException, bad attribute
// values ValidationException, both as *Error.
func DecodeRequest(body []byte, in any) error { return decodeRequest(body, in) }

func decodeRequest(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	err := json.Unmarshal(body, in)
	if err == nil {
		return nil
	}
	var ve *expr.ValidationError
	if errors.As(err, &ve) {
		if strings.HasPrefix(ve.Message, "Unexpected JSON") {
			return newError(CodeSerialization, ve.Message)
		}
		return validationErr(ve.Message)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return newError(CodeSerialization, "Could not parse request body into json: "+se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return newError(CodeSerialization, "Unexpected value type in payload: "+te.Field)
	}
	return newError(CodeSerialization, "Could not parse request body into json: "+err.Error())
}

// wireError is how an ErrorCode goes on the wire: its namespace, HTTP
// status and the name of the message member (the SDK's schema for
// TransactionCanceledException reads "Message", the others "message").
type wireError struct {
	namespace string
	status    int
	msgField  string
}

const (
	nsDynamoDB  = "com.amazonaws.dynamodb.v20120810"
	nsCoral     = "com.amazon.coral.service"
	nsValidate  = "com.amazon.coral.validate"
	nsAvailable = "com.amazon.coral.availability"
)

// wireErrors is the one place where errors become HTTP.
var wireErrors = map[ErrorCode]wireError{
	CodeValidation:                    {nsValidate, 400, "message"},
	CodeConditionalCheckFailed:        {nsDynamoDB, 400, "message"},
	CodeResourceNotFound:              {nsDynamoDB, 400, "message"},
	CodeResourceInUse:                 {nsDynamoDB, 400, "message"},
	CodeTransactionCanceled:           {nsDynamoDB, 400, "Message"},
	CodeTransactionConflict:           {nsDynamoDB, 400, "message"},
	CodeIdempotentParameterMismatch:   {nsDynamoDB, 400, "Message"},
	CodeProvisionedThroughputExceeded: {nsDynamoDB, 400, "message"},
	CodeRequestLimitExceeded:          {nsDynamoDB, 400, "message"},
	CodeThrottling:                    {nsAvailable, 400, "message"},
	CodeInternalServerError:           {nsDynamoDB, 500, "message"},
	CodeServiceUnavailable:            {nsAvailable, 503, "message"},
	CodeSerialization:                 {nsCoral, 400, "Message"},
	CodeUnknownOperation:              {nsCoral, 400, "message"},
	CodeMissingAuthenticationToken:    {nsCoral, 400, "message"},
	CodeRequestEntityTooLarge:         {nsCoral, 413, "message"},
	CodeLimitExceeded:                 {nsDynamoDB, 400, "message"},
}

// encodeError renders err as DynamoDB's error body and status.
func encodeError(err error) (int, []byte, ErrorCode) {
	e := asError(err)
	w, ok := wireErrors[e.Code]
	if !ok {
		w = wireErrors[CodeInternalServerError]
	}
	var buf bytes.Buffer
	buf.WriteString(`{"__type":`)
	writeString(&buf, w.namespace+"#"+string(e.Code))
	if e.Message != "" {
		buf.WriteString(`,"` + w.msgField + `":`)
		writeString(&buf, e.Message)
	}
	if e.Item != nil {
		if raw, err := e.Item.MarshalJSON(); err == nil {
			buf.WriteString(`,"Item":`)
			buf.Write(raw)
		}
	}
	if e.CancellationReasons != nil {
		if raw, err := json.Marshal(e.CancellationReasons); err == nil {
			buf.WriteString(`,"CancellationReasons":`)
			buf.Write(raw)
		}
	}
	buf.WriteByte('}')
	return w.status, buf.Bytes(), e.Code
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// encodeOutput renders a response body. A GetItem of a whole item copies
// the stored encoding instead of encoding the item again.
func encodeOutput(out any) ([]byte, error) {
	if g, ok := out.(*GetItemOutput); ok && g.ConsumedCapacity == nil {
		if g.Item == nil {
			return []byte("{}"), nil
		}
		if g.raw != nil {
			b := make([]byte, 0, len(g.raw)+10)
			b = append(b, `{"Item":`...)
			b = append(b, g.raw...)
			return append(b, '}'), nil
		}
	}
	if q, ok := out.(*QueryOutput); ok && q.countOnly {
		return json.Marshal(countOutput{Count: q.Count, ScannedCount: q.ScannedCount, LastEvaluatedKey: q.LastEvaluatedKey, ConsumedCapacity: q.ConsumedCapacity})
	}
	if o, ok := out.(*ItemOutput); ok && o.Attributes == nil && o.ConsumedCapacity == nil && o.ItemCollectionMetrics == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(out)
}

// FailpointError turns a fired failpoint's value into the error the client
// sees: return(ThrottlingException), return(ProvisionedThroughputExceededException),
// return(InternalServerError) or return(500), return(ServiceUnavailable) or
// return(503), or any other ErrorCode; any other value (error(msg)) is a
// 500 InternalServerError with that message.
func FailpointError(value string) *Error {
	switch value {
	case "", "500", string(CodeInternalServerError):
		return newError(CodeInternalServerError, MsgInternalServerError)
	case "503", string(CodeServiceUnavailable):
		return newError(CodeServiceUnavailable, "Service Unavailable")
	case string(CodeThrottling):
		return newError(CodeThrottling, MsgThrottling)
	case string(CodeProvisionedThroughputExceeded):
		return newError(CodeProvisionedThroughputExceeded, MsgProvisionedThroughput)
	case string(CodeRequestLimitExceeded):
		return newError(CodeRequestLimitExceeded, "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase")
	}
	if _, ok := wireErrors[ErrorCode(value)]; ok {
		return newError(ErrorCode(value), value)
	}
	return newError(CodeInternalServerError, value)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP is the JSON 1.0 endpoint:
//
//	GET /                          200 healthy: dynamodb.us-east-1.amazonaws.com
//	POST / X-Amz-Target: DynamoDB_20120810.<Operation>
//	  no Authorization             400 MissingAuthenticationTokenException
//	  unknown target               400 UnknownOperationException
//	  body over MaxBodyBytes       413 RequestEntityTooLarge
//	  failpoint fired              the failpoint's error
//	  bad JSON                     400 SerializationException
//	  otherwise                    the operation's response or error
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.checkConnAge(w, r)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = io.WriteString(w, HealthBody)
			}
			return
		}
		http.NotFound(w, r)
		return
	}
	var op *operation
	var err error
	switch target := r.Header.Get("X-Amz-Target"); {
	case r.Header.Get("Authorization") == "":
		err = newError(CodeMissingAuthenticationToken, MsgMissingAuth)
	case !strings.HasPrefix(target, TargetPrefix):
		err = newError(CodeUnknownOperation, "")
	default:
		op = s.ops[target[len(TargetPrefix):]]
		if op == nil {
			err = newError(CodeUnknownOperation, "")
		}
	}
	var body []byte
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	if err == nil {
		buf.Reset()
		_, rerr := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(rerr, &tooLarge):
			err = newError(CodeRequestEntityTooLarge, "Request size "+strconv.FormatInt(r.ContentLength, 10)+" exceeded "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes")
		case rerr != nil:
			err = newError(CodeSerialization, "Could not read request body: "+rerr.Error())
		}
		body = buf.Bytes()
	}
	if err == nil {
		err = s.evalFailpoints(r, op)
	}
	var out any
	if err == nil {
		out, err = op.run(s, body)
	}
	var status int
	var resp []byte
	code := ErrorCode("")
	if err == nil {
		if to, ok := out.(*TableOutput); ok && op.name == "CreateTable" {
			s.env.Events.Emit("table-created", "table", to.TableDescription.TableName)
		}
		resp, err = encodeOutput(out)
	}
	if err != nil {
		status, resp, code = encodeError(err)
	} else {
		status = http.StatusOK
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/x-amz-json-1.0"}
	h["X-Amzn-Requestid"] = []string{s.requestID()}
	h["X-Amz-Crc32"] = []string{strconv.FormatUint(uint64(crc32.ChecksumIEEE(resp)), 10)}
	h["Content-Length"] = []string{strconv.Itoa(len(resp))}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
	s.observe(op, code, start)
}

// evalFailpoints fires dynamodb/any, then dynamodb/<Operation>.
func (s *Server) evalFailpoints(r *http.Request, op *operation) error {
	for _, fp := range []*kit.Failpoint{s.anyFP, op.fp} {
		if fp == nil {
			continue
		}
		v, fired := fp.Eval(r.Context())
		if !fired {
			continue
		}
		e := FailpointError(v)
		if e.Code == CodeThrottling || e.Code == CodeProvisionedThroughputExceeded || e.Code == CodeRequestLimitExceeded {
			s.noteThrottled(op.name, e.Code)
		}
		return e
	}
	return nil
}
