package sqs

import "testing"

// FuzzDecodeRequest: any body for any operation decodes or fails with a
// serialization or unknown-operation error, never a panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add("SendMessage", []byte(`{"QueueUrl":"http://x/000000000000/q","MessageBody":"b","DelaySeconds":3}`))
	f.Add("ReceiveMessage", []byte(`{"QueueUrl":"u","MaxNumberOfMessages":10,"WaitTimeSeconds":20}`))
	f.Add("CreateQueue", []byte(`{"QueueName":"q","Attributes":{"VisibilityTimeout":"5"}}`))
	f.Add("GetQueueAttributes", []byte(`{"AttributeNames":["All"]}`))
	f.Add("Nope", []byte(`{}`))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		in, err := DecodeRequest(op, body)
		if err == nil && in == nil {
			t.Fatal("nil input without an error")
		}
	})
}
