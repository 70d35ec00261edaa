// Package matchers holds Gomega matchers over timeline snapshots: the order
// of symptoms (cause before effect), impact windows, "stays impaired until
// the operator acts", "recovers within N incident minutes of the operator's
// action", "the record is never empty", and probe sample counts.
//
// Every timeline matcher accepts a *timeline.Snapshot, a timeline.Snapshot or
// a *timeline.Timeline (snapshotted when matched). Durations are incident
// time. A failure message states why and shows the relevant slice of the
// timeline as text: the components concerned, the faults and operator actions
// around the moment that decided.
//
//	Expect(snap).To(matchers.SymptomOrder("dynamodb", "ec2", "connectivity", "nlb"))
//	Expect(snap).To(matchers.HaveImpactWindow("dynamodb", matchers.BetweenMinutes(150, 200)))
//	Expect(snap).To(matchers.StayImpairedUntil("ec2", "restart-dwfm"))
//	Expect(snap).To(matchers.RecoverWithin("dynamodb", 20*time.Minute, "restore-dns"))
//	Expect(snap).To(matchers.NeverEmpty("dns-resolve"))
package matchers
