// Package sqs is cascade's Amazon SQS: standard queues behind the SQS JSON
// protocol that current aws-sdk-go-v2 and the AWS CLI speak
// (POST / with X-Amz-Target: AmazonSQS.<Op>, application/x-amz-json-1.0).
// It serves CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage,
// DeleteMessage and GetQueueAttributes, with SQS's semantics where the
// cascade needs them:
//
//	SendMessage --> [visible] --ReceiveMessage--> [in flight: hidden for the
//	                    ^                          visibility timeout]
//	                    +------ timeout passes ----------+ --DeleteMessage--> gone
//
// A received message that nobody deletes becomes visible again when its
// visibility timeout passes (in incident time): that is how Lambda's
// event-source poller gets a batch again after a failed or throttled
// invocation. ReceiveMessage's WaitTimeSeconds is a long poll on the
// incident clock. Errors carry SQS's JSON shape (__type such as
// com.amazonaws.sqs#QueueDoesNotExist) and the x-amzn-query-error header.
//
// The core (core.go) is pure and clock-injected; the transport (server.go)
// serialises calls with one mutex and does the long poll.
package sqs
