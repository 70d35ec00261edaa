// Package probes measures a stack's steady state from the outside with the
// real SDK, as a customer would: the regional endpoint resolves through the
// mock DNS, DynamoDB GetItem and PutItem succeed on a fresh connection (so an
// emptied record is seen at once), and more as services land (EC2 launches,
// new-instance connectivity, NLB capacity). A Runner samples its probes on a
// period of incident time and hands every timeline.Sample to a sink (usually
// a timeline.Timeline's AddSample).
package probes
