package dynamodb

import "github.com/cascade-lab/cascade/mocks/dynamodb/expr"

// The request and response shapes of the operations the mock serves, with
// the JSON 1.0 member names of the DynamoDB API. Members the mock does not
// act on (Tags, StreamSpecification, ...) are ignored when decoding.

// KeySchemaElement is one key attribute: KeyType HASH or RANGE.
type KeySchemaElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

// AttributeDefinition declares a key attribute's type: S, N or B.
type AttributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

// ProvisionedThroughput is a table's or index's provisioned capacity.
type ProvisionedThroughput struct {
	ReadCapacityUnits  int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits int64 `json:"WriteCapacityUnits"`
}

// ProvisionedThroughputDescription is ProvisionedThroughput as described.
type ProvisionedThroughputDescription struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

// IndexProjection says which attributes an index holds.
type IndexProjection struct {
	ProjectionType   string   `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

// SecondaryIndex is a GSI or LSI in a CreateTable request.
type SecondaryIndex struct {
	IndexName             string                 `json:"IndexName"`
	KeySchema             []KeySchemaElement     `json:"KeySchema"`
	Projection            IndexProjection        `json:"Projection"`
	ProvisionedThroughput *ProvisionedThroughput `json:"ProvisionedThroughput,omitempty"`
}

// IndexDescription describes a GSI or LSI.
type IndexDescription struct {
	IndexName             string                            `json:"IndexName"`
	IndexArn              string                            `json:"IndexArn"`
	IndexStatus           string                            `json:"IndexStatus,omitempty"`
	KeySchema             []KeySchemaElement                `json:"KeySchema"`
	Projection            IndexProjection                   `json:"Projection"`
	ItemCount             int64                             `json:"ItemCount"`
	IndexSizeBytes        int64                             `json:"IndexSizeBytes"`
	ProvisionedThroughput *ProvisionedThroughputDescription `json:"ProvisionedThroughput,omitempty"`
}

// BillingModeSummary is PROVISIONED or PAY_PER_REQUEST.
type BillingModeSummary struct {
	BillingMode string `json:"BillingMode"`
}

// TableDescription is DescribeTable's Table.
type TableDescription struct {
	TableName                 string                            `json:"TableName"`
	TableArn                  string                            `json:"TableArn"`
	TableId                   string                            `json:"TableId"`
	TableStatus               string                            `json:"TableStatus"`
	CreationDateTime          float64                           `json:"CreationDateTime"`
	AttributeDefinitions      []AttributeDefinition             `json:"AttributeDefinitions"`
	KeySchema                 []KeySchemaElement                `json:"KeySchema"`
	ItemCount                 int64                             `json:"ItemCount"`
	TableSizeBytes            int64                             `json:"TableSizeBytes"`
	BillingModeSummary        *BillingModeSummary               `json:"BillingModeSummary,omitempty"`
	ProvisionedThroughput     *ProvisionedThroughputDescription `json:"ProvisionedThroughput,omitempty"`
	GlobalSecondaryIndexes    []IndexDescription                `json:"GlobalSecondaryIndexes,omitempty"`
	LocalSecondaryIndexes     []IndexDescription                `json:"LocalSecondaryIndexes,omitempty"`
	DeletionProtectionEnabled bool                              `json:"DeletionProtectionEnabled"`
}

// CreateTableInput is CreateTable's request.
type CreateTableInput struct {
	TableName                 string                 `json:"TableName"`
	AttributeDefinitions      []AttributeDefinition  `json:"AttributeDefinitions"`
	KeySchema                 []KeySchemaElement     `json:"KeySchema"`
	BillingMode               string                 `json:"BillingMode,omitempty"`
	ProvisionedThroughput     *ProvisionedThroughput `json:"ProvisionedThroughput,omitempty"`
	GlobalSecondaryIndexes    []SecondaryIndex       `json:"GlobalSecondaryIndexes,omitempty"`
	LocalSecondaryIndexes     []SecondaryIndex       `json:"LocalSecondaryIndexes,omitempty"`
	DeletionProtectionEnabled *bool                  `json:"DeletionProtectionEnabled,omitempty"`
}

// TableOutput is the response of CreateTable and DeleteTable.
type TableOutput struct {
	TableDescription *TableDescription `json:"TableDescription"`
}

// TableNameInput is the request of DescribeTable and DeleteTable.
type TableNameInput struct {
	TableName string `json:"TableName"`
}

// DescribeTableOutput is DescribeTable's response.
type DescribeTableOutput struct {
	Table *TableDescription `json:"Table"`
}

// ListTablesInput is ListTables' request.
type ListTablesInput struct {
	ExclusiveStartTableName string `json:"ExclusiveStartTableName,omitempty"`
	Limit                   *int   `json:"Limit,omitempty"`
}

// ListTablesOutput is ListTables' response.
type ListTablesOutput struct {
	TableNames             []string `json:"TableNames"`
	LastEvaluatedTableName string   `json:"LastEvaluatedTableName,omitempty"`
}

// legacyConditional is the legacy condition of a write: Expected, joined
// by ConditionalOperator.
type legacyConditional struct {
	Expected            map[string]ExpectedAttributeValue `json:"Expected,omitempty"`
	ConditionalOperator string                            `json:"ConditionalOperator,omitempty"`
}

// legacyRead is the legacy part of Query and Scan besides their conditions.
type legacyRead struct {
	AttributesToGet     []string `json:"AttributesToGet,omitempty"`
	ConditionalOperator string   `json:"ConditionalOperator,omitempty"`
}

// exprParams are the placeholder maps every expression-taking request has.
type exprParams struct {
	ExpressionAttributeNames  map[string]string     `json:"ExpressionAttributeNames,omitempty"`
	ExpressionAttributeValues map[string]expr.Value `json:"ExpressionAttributeValues,omitempty"`
}

// PutItemInput is PutItem's request.
type PutItemInput struct {
	TableName string    `json:"TableName"`
	Item      expr.Item `json:"Item"`
	exprParams
	legacyConditional
	ConditionExpression                 string `json:"ConditionExpression,omitempty"`
	ReturnValues                        string `json:"ReturnValues,omitempty"`
	ReturnValuesOnConditionCheckFailure string `json:"ReturnValuesOnConditionCheckFailure,omitempty"`
	ReturnConsumedCapacity              string `json:"ReturnConsumedCapacity,omitempty"`
	ReturnItemCollectionMetrics         string `json:"ReturnItemCollectionMetrics,omitempty"`
}

// ItemOutput is the response of PutItem, UpdateItem and DeleteItem.
type ItemOutput struct {
	Attributes            expr.Item              `json:"Attributes,omitempty"`
	ConsumedCapacity      *ConsumedCapacity      `json:"ConsumedCapacity,omitempty"`
	ItemCollectionMetrics *ItemCollectionMetrics `json:"ItemCollectionMetrics,omitempty"`
}

// GetItemInput is GetItem's request.
type GetItemInput struct {
	TableName string    `json:"TableName"`
	Key       expr.Item `json:"Key"`
	exprParams
	ProjectionExpression   string   `json:"ProjectionExpression,omitempty"`
	AttributesToGet        []string `json:"AttributesToGet,omitempty"`
	ConsistentRead         bool     `json:"ConsistentRead,omitempty"`
	ReturnConsumedCapacity string   `json:"ReturnConsumedCapacity,omitempty"`
}

// GetItemOutput is GetItem's response.
type GetItemOutput struct {
	Item             expr.Item         `json:"Item,omitempty"`
	ConsumedCapacity *ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
	// raw is the stored item's cached encoding, set when Item is the whole
	// stored item, so the transport need not encode it again.
	raw []byte
}

// UpdateItemInput is UpdateItem's request.
type UpdateItemInput struct {
	TableName string    `json:"TableName"`
	Key       expr.Item `json:"Key"`
	exprParams
	legacyConditional
	AttributeUpdates                    map[string]AttributeValueUpdate `json:"AttributeUpdates,omitempty"`
	UpdateExpression                    string                          `json:"UpdateExpression,omitempty"`
	ConditionExpression                 string                          `json:"ConditionExpression,omitempty"`
	ReturnValues                        string                          `json:"ReturnValues,omitempty"`
	ReturnValuesOnConditionCheckFailure string                          `json:"ReturnValuesOnConditionCheckFailure,omitempty"`
	ReturnConsumedCapacity              string                          `json:"ReturnConsumedCapacity,omitempty"`
	ReturnItemCollectionMetrics         string                          `json:"ReturnItemCollectionMetrics,omitempty"`
}

// DeleteItemInput is DeleteItem's request.
type DeleteItemInput struct {
	TableName string    `json:"TableName"`
	Key       expr.Item `json:"Key"`
	exprParams
	legacyConditional
	ConditionExpression                 string `json:"ConditionExpression,omitempty"`
	ReturnValues                        string `json:"ReturnValues,omitempty"`
	ReturnValuesOnConditionCheckFailure string `json:"ReturnValuesOnConditionCheckFailure,omitempty"`
	ReturnConsumedCapacity              string `json:"ReturnConsumedCapacity,omitempty"`
	ReturnItemCollectionMetrics         string `json:"ReturnItemCollectionMetrics,omitempty"`
}

// QueryInput is Query's request.
type QueryInput struct {
	TableName string `json:"TableName"`
	IndexName string `json:"IndexName,omitempty"`
	exprParams
	legacyRead
	KeyConditions          map[string]Condition `json:"KeyConditions,omitempty"`
	QueryFilter            map[string]Condition `json:"QueryFilter,omitempty"`
	KeyConditionExpression string               `json:"KeyConditionExpression,omitempty"`
	FilterExpression       string               `json:"FilterExpression,omitempty"`
	ProjectionExpression   string               `json:"ProjectionExpression,omitempty"`
	Select                 string               `json:"Select,omitempty"`
	Limit                  *int                 `json:"Limit,omitempty"`
	ExclusiveStartKey      expr.Item            `json:"ExclusiveStartKey,omitempty"`
	ConsistentRead         bool                 `json:"ConsistentRead,omitempty"`
	ScanIndexForward       *bool                `json:"ScanIndexForward,omitempty"`
	ReturnConsumedCapacity string               `json:"ReturnConsumedCapacity,omitempty"`
}

// ScanInput is Scan's request.
type ScanInput struct {
	TableName string `json:"TableName"`
	IndexName string `json:"IndexName,omitempty"`
	exprParams
	legacyRead
	ScanFilter             map[string]Condition `json:"ScanFilter,omitempty"`
	FilterExpression       string               `json:"FilterExpression,omitempty"`
	ProjectionExpression   string               `json:"ProjectionExpression,omitempty"`
	Select                 string               `json:"Select,omitempty"`
	Limit                  *int                 `json:"Limit,omitempty"`
	ExclusiveStartKey      expr.Item            `json:"ExclusiveStartKey,omitempty"`
	ConsistentRead         bool                 `json:"ConsistentRead,omitempty"`
	Segment                *int                 `json:"Segment,omitempty"`
	TotalSegments          *int                 `json:"TotalSegments,omitempty"`
	ReturnConsumedCapacity string               `json:"ReturnConsumedCapacity,omitempty"`
}

// QueryOutput is the response of Query and Scan.
type QueryOutput struct {
	Items            []expr.Item       `json:"Items"`
	Count            int               `json:"Count"`
	ScannedCount     int               `json:"ScannedCount"`
	LastEvaluatedKey expr.Item         `json:"LastEvaluatedKey,omitempty"`
	ConsumedCapacity *ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
	// countOnly drops Items from the response (Select COUNT).
	countOnly bool
}

// countOutput is QueryOutput without Items, for Select COUNT.
type countOutput struct {
	Count            int               `json:"Count"`
	ScannedCount     int               `json:"ScannedCount"`
	LastEvaluatedKey expr.Item         `json:"LastEvaluatedKey,omitempty"`
	ConsumedCapacity *ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}

// KeysAndAttributes is one table's part of a BatchGetItem request.
type KeysAndAttributes struct {
	Keys []expr.Item `json:"Keys"`
	exprParams
	ProjectionExpression string   `json:"ProjectionExpression,omitempty"`
	AttributesToGet      []string `json:"AttributesToGet,omitempty"`
	ConsistentRead       bool     `json:"ConsistentRead,omitempty"`
}

// BatchGetItemInput is BatchGetItem's request.
type BatchGetItemInput struct {
	RequestItems           map[string]*KeysAndAttributes `json:"RequestItems"`
	ReturnConsumedCapacity string                        `json:"ReturnConsumedCapacity,omitempty"`
}

// BatchGetItemOutput is BatchGetItem's response.
type BatchGetItemOutput struct {
	Responses        map[string][]expr.Item        `json:"Responses"`
	UnprocessedKeys  map[string]*KeysAndAttributes `json:"UnprocessedKeys"`
	ConsumedCapacity []ConsumedCapacity            `json:"ConsumedCapacity,omitempty"`
}

// WriteRequest is one put or delete of a BatchWriteItem request.
type WriteRequest struct {
	PutRequest    *struct{ Item expr.Item } `json:"PutRequest,omitempty"`
	DeleteRequest *struct{ Key expr.Item }  `json:"DeleteRequest,omitempty"`
}

// BatchWriteItemInput is BatchWriteItem's request.
type BatchWriteItemInput struct {
	RequestItems           map[string][]WriteRequest `json:"RequestItems"`
	ReturnConsumedCapacity string                    `json:"ReturnConsumedCapacity,omitempty"`
}

// BatchWriteItemOutput is BatchWriteItem's response.
type BatchWriteItemOutput struct {
	UnprocessedItems map[string][]WriteRequest `json:"UnprocessedItems"`
	ConsumedCapacity []ConsumedCapacity        `json:"ConsumedCapacity,omitempty"`
}

// TransactOp is the common part of a transaction's Put, Update, Delete and
// ConditionCheck.
type TransactOp struct {
	TableName string    `json:"TableName"`
	Key       expr.Item `json:"Key,omitempty"`
	Item      expr.Item `json:"Item,omitempty"`
	exprParams
	ConditionExpression                 string `json:"ConditionExpression,omitempty"`
	UpdateExpression                    string `json:"UpdateExpression,omitempty"`
	ReturnValuesOnConditionCheckFailure string `json:"ReturnValuesOnConditionCheckFailure,omitempty"`
}

// TransactWriteItem is one action of TransactWriteItems: exactly one member set.
type TransactWriteItem struct {
	ConditionCheck *TransactOp `json:"ConditionCheck,omitempty"`
	Put            *TransactOp `json:"Put,omitempty"`
	Delete         *TransactOp `json:"Delete,omitempty"`
	Update         *TransactOp `json:"Update,omitempty"`
}

// TransactWriteItemsInput is TransactWriteItems' request.
type TransactWriteItemsInput struct {
	TransactItems          []TransactWriteItem `json:"TransactItems"`
	ClientRequestToken     string              `json:"ClientRequestToken,omitempty"`
	ReturnConsumedCapacity string              `json:"ReturnConsumedCapacity,omitempty"`
}

// TransactGet is one Get of TransactGetItems.
type TransactGet struct {
	Get *struct {
		TableName string    `json:"TableName"`
		Key       expr.Item `json:"Key"`
		exprParams
		ProjectionExpression string `json:"ProjectionExpression,omitempty"`
	} `json:"Get"`
}

// TransactGetItemsInput is TransactGetItems' request.
type TransactGetItemsInput struct {
	TransactItems          []TransactGet `json:"TransactItems"`
	ReturnConsumedCapacity string        `json:"ReturnConsumedCapacity,omitempty"`
}

// ItemResponse is one entry of TransactGetItems' Responses.
type ItemResponse struct {
	Item expr.Item `json:"Item,omitempty"`
}

// TransactGetItemsOutput is TransactGetItems' response.
type TransactGetItemsOutput struct {
	Responses        []ItemResponse     `json:"Responses"`
	ConsumedCapacity []ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}

// TransactWriteItemsOutput is TransactWriteItems' response.
type TransactWriteItemsOutput struct {
	ConsumedCapacity []ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}
