package lambda

import (
	"bytes"
	"testing"
)

// FuzzDecoders: any body decodes or fails with InvalidRequestContent or
// InvalidParameterValue, never a panic.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte(`{"FunctionName":"f","Role":"arn:aws:iam::000000000000:role/r","Code":{"ZipFile":"UEs="},"Timeout":3}`))
	f.Add([]byte(`{"FunctionName":"f","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:q","BatchSize":10,"Enabled":true}`))
	f.Add([]byte(`{"Timeout":901,"Environment":{"Variables":{"A":"b"}}}`))
	f.Add([]byte(`{"Code":{"ZipFile":"not base64"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = DecodeCreateFunction(bytes.NewReader(body))
		_, _ = DecodeUpdateFunctionConfiguration("f", bytes.NewReader(body))
		_, _ = DecodeCreateEventSourceMapping(bytes.NewReader(body))
	})
}
