package sts_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

type credsProvider struct{ c *types.Credentials }

func (p credsProvider) Retrieve(context.Context) (aws.Credentials, error) {
	if p.c == nil {
		return aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: "x"}, nil
	}
	return aws.Credentials{AccessKeyID: aws.ToString(p.c.AccessKeyId), SecretAccessKey: aws.ToString(p.c.SecretAccessKey),
		SessionToken: aws.ToString(p.c.SessionToken)}, nil
}
