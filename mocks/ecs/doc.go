// Package ecs is cascade's Amazon ECS with Fargate: the ECS JSON 1.1 API
// subset (CreateCluster, RunTask, DescribeTasks, CreateService,
// UpdateService, DescribeServices) that aws-sdk-go-v2 and the AWS CLI speak
// unchanged, around a clock-injected core.
//
//	RunTask / service scheduler (Tick)
//	   |  task PROVISIONING
//	   v
//	EC2 RunInstances (mocks/ec2, Query API) --error--> STOPPED, RunTask failure
//	   |  task PENDING on instance i-...               "Capacity is unavailable..."
//	   v
//	connectivity? (EC2 DescribeInstances / Network Manager) --no, past StartTimeout-->
//	   |                                  STOPPED "Timeout waiting for network interface
//	   v                                  provisioning to complete."; as-was terminates the
//	RUNNING                               instance, fixed keeps it for the next attempt
//
// Tasks fail while EC2 cannot launch or new instances have no connectivity
// (real: 23:45 to 14:20 PDT); a service's scheduler retries toward its
// desired count with capped exponential backoff. See docs/sts-ecs.md.
package ecs
