// Package cascadetest runs a user's own service under the us-east-1 outage
// of October 2025, from the user's Go test or Ginkgo suite, in the style of
// testcontainers-go modules:
//
//	stack, err := cascadetest.Start(ctx)             // every mock service, the mock DNS, a clock
//	DeferCleanup(stack.Close)                         // undoes everything, also when a spec fails
//	cfg, err := stack.AWSConfig(ctx)                  // aws.Config resolving through the stack's DNS
//	svc := orders.New(dynamodb.NewFromConfig(cfg))    // the user's service, wired as in production
//	res, err := stack.Replay(ctx, cascadetest.Until(cascadetest.IncidentTime(3, 30)),
//		cascadetest.WithProbes(cascadetest.HTTPProbe("orders-get", url, cascadetest.InComponent("orders"))))
//	Expect(res).To(cascadetest.StayHealthyWhileEmpty("orders"))
//	Expect(res).To(cascadetest.RecoverWithin("orders", 30*time.Minute))
//
// Nothing is scripted for the user's service: the stack's regional DynamoDB
// record is emptied by the replay's DNS Enactor race, so a client whose
// pooled connection is alive keeps working until the server ages it out,
// and every new connection fails to resolve until the operator model
// restores the record by hand (about 02:25 PDT, as the real operators did).
//
// Time: the stack runs an incident clock (Speed incident minutes per wall
// second; the replay's default 20). Samples, windows and matchers are in
// incident time; a probe's latency is wall time.
package cascadetest
