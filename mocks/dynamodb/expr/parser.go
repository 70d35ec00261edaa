package expr

import (
	"slices"
	"strconv"
	"strings"
)

// Kind names the request parameter an expression came from. DynamoDB uses it
// in every error message ("Invalid UpdateExpression: ...").
type Kind string

// The expression parameters of the DynamoDB API.
const (
	ConditionExpression    Kind = "ConditionExpression"
	FilterExpression       Kind = "FilterExpression"
	KeyConditionExpression Kind = "KeyConditionExpression"
	ProjectionExpression   Kind = "ProjectionExpression"
	UpdateExpression       Kind = "UpdateExpression"
)

const (
	// MaxExpressionSize is DynamoDB's limit on the length of one expression.
	MaxExpressionSize = 4096
	// maxNesting bounds parentheses, NOT chains and function nesting so that
	// recursion depth stays small whatever the input.
	maxNesting = 64
	// maxPathDepth is DynamoDB's limit on document path nesting.
	maxPathDepth = 32
	// maxInOperands is DynamoDB's limit on the IN list.
	maxInOperands = 100
)

// operandKind distinguishes the operand forms of conditions and updates.
type operandKind int

const (
	opPath operandKind = iota
	opValue
	opSize
	opIfNotExists
	opListAppend
	opPlus
	opMinus
	opOtherFunction // a function that is invalid here; kept only so parsing can continue
)

// operand is a leaf or a computed value in an expression.
type operand struct {
	kind     operandKind
	path     docPath
	valueRef string // the :placeholder, for messages
	value    Value
	args     []*operand
}

// placeholders records which ExpressionAttributeNames/Values an expression
// used, so the unused ones can be rejected across a whole request.
type placeholders struct {
	names  []string
	values []string
}

// parser is a recursive-descent parser shared by all expression kinds.
//
// Errors come in two classes. Syntax errors stop parsing immediately.
// Everything else (reserved words, undefined placeholders, misuse of
// functions) is recorded and reported only once the whole expression parsed,
// because DynamoDB validates a syntactically complete tree and a syntax error
// further right would take precedence.
type parser struct {
	kind   Kind
	src    string
	toks   []token
	pos    int
	depth  int
	names  map[string]string
	values map[string]Value

	usedNames  map[string]bool
	usedValues map[string]bool

	reservedErr, nameErr, valueErr, semanticErr *ValidationError
}

func newParser(kind Kind, src string, names map[string]string, values map[string]Value) (*parser, error) {
	p := &parser{kind: kind, src: src, names: names, values: values,
		usedNames: map[string]bool{}, usedValues: map[string]bool{}}
	if len(src) > MaxExpressionSize {
		return nil, p.invalid("Expression size has exceeded the maximum allowed size; expression size: " + strconv.Itoa(len(src)))
	}
	if strings.TrimSpace(src) == "" {
		return nil, p.invalid("The expression can not be empty;")
	}
	p.toks = lex(src)
	return p, nil
}

// invalid builds "Invalid <Kind>: msg".
func (p *parser) invalid(msg string) *ValidationError {
	return validation("Invalid " + string(p.kind) + ": " + msg)
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(offset int) token {
	if i := p.pos + offset; i < len(p.toks) {
		return p.toks[i]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) isOp(text string) bool {
	t := p.peek()
	return t.kind == tokOp && t.text == text
}

// isKeyword matches a case-insensitive keyword such as AND or SET.
func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, word)
}

// syntaxError reports the token at p.pos. "near" spans the previous token to
// the next one, which is what DynamoDB shows (e.g. near: "my-attr").
func (p *parser) syntaxError() *ValidationError {
	i := p.pos
	tok := p.toks[i]
	start, end := tok.start, tok.end
	if i > 0 {
		start = p.toks[i-1].start
		if tok.kind == tokEOF {
			end = p.toks[i-1].end // trailing blanks are not "near" anything
		}
	}
	if i+1 < len(p.toks) && p.toks[i+1].kind != tokEOF {
		end = p.toks[i+1].end
	}
	return p.invalid("Syntax error; token: \"" + tok.text + "\", near: \"" + p.src[start:end] + "\"")
}

func (p *parser) expectOp(text string) error {
	if !p.isOp(text) {
		return p.syntaxError()
	}
	p.next()
	return nil
}

// enter guards recursion; every recursive production calls it.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.invalid("The expression has too many nesting levels; maximum nesting levels: " + strconv.Itoa(maxNesting))
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) semantic(msg string) {
	if p.semanticErr == nil {
		p.semanticErr = p.invalid(msg)
	}
}

// finish checks that all input was consumed and reports deferred errors.
func (p *parser) finish() error {
	if p.peek().kind != tokEOF {
		return p.syntaxError()
	}
	for _, err := range []*ValidationError{p.reservedErr, p.nameErr, p.valueErr, p.semanticErr} {
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) used() placeholders {
	names := make([]string, 0, len(p.usedNames))
	for n := range p.usedNames {
		names = append(names, n)
	}
	values := make([]string, 0, len(p.usedValues))
	for v := range p.usedValues {
		values = append(values, v)
	}
	slices.Sort(names)
	slices.Sort(values)
	return placeholders{names: names, values: values}
}

// structuralKeywords cannot start an attribute name because the grammar uses
// them; seeing one where a path is expected is a syntax error.
func (p *parser) isStructuralKeyword(t token) bool {
	if t.kind != tokIdent {
		return false
	}
	switch strings.ToUpper(t.text) {
	case "AND", "OR", "NOT", "BETWEEN", "IN":
		return true
	case "SET", "REMOVE", "ADD", "DELETE":
		return p.kind == UpdateExpression
	}
	return false
}

// nameElem resolves one attribute-name token of a path.
func (p *parser) nameElem(t token) (pathElem, error) {
	switch {
	case t.kind == tokName:
		p.usedNames[t.text] = true
		name, ok := p.names[t.text]
		if !ok && p.nameErr == nil {
			p.nameErr = p.invalid("An expression attribute name used in the document path is not defined; attribute name: " + t.text)
		}
		return pathElem{name: name}, nil
	case t.kind == tokIdent && !p.isStructuralKeyword(t):
		if IsReservedWord(t.text) && p.reservedErr == nil {
			p.reservedErr = p.invalid("Attribute name is a reserved keyword; reserved keyword: " + t.text)
		}
		return pathElem{name: t.text}, nil
	}
	return pathElem{}, p.syntaxError()
}

// parsePath parses name ( '.' name | '[' digits ']' )*.
func (p *parser) parsePath() (docPath, error) {
	first, err := p.nameElem(p.peek())
	if err != nil {
		return nil, err
	}
	p.next()
	path := docPath{first}
	for {
		switch {
		case p.isOp("."):
			p.next()
			elem, err := p.nameElem(p.peek())
			if err != nil {
				return nil, err
			}
			p.next()
			path = append(path, elem)
		case p.isOp("["):
			p.next()
			t := p.peek()
			if t.kind != tokNumber {
				return nil, p.syntaxError()
			}
			index, err := strconv.Atoi(t.text)
			if err != nil || index > 1<<30 {
				return nil, p.syntaxError()
			}
			p.next()
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			path = append(path, pathElem{index: index, isIndex: true})
		default:
			if len(path) > maxPathDepth {
				p.semantic("The document path has too many nesting levels; nesting levels: " + strconv.Itoa(len(path)))
			}
			return path, nil
		}
	}
}

// valueOperand resolves an :placeholder.
func (p *parser) valueOperand(t token) *operand {
	p.usedValues[t.text] = true
	v, ok := p.values[t.text]
	if !ok && p.valueErr == nil {
		p.valueErr = p.invalid("An expression attribute value used in expression is not defined; attribute value: " + t.text)
	}
	return &operand{kind: opValue, valueRef: t.text, value: v}
}

func isConditionFunction(name string) bool {
	switch name {
	case "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size":
		return true
	}
	return false
}

func isUpdateFunction(name string) bool { return name == "if_not_exists" || name == "list_append" }

// parseOperand parses a path, an :value or a function call used as a value.
func (p *parser) parseOperand() (*operand, error) {
	t := p.peek()
	switch {
	case t.kind == tokValue:
		p.next()
		return p.valueOperand(t), nil
	case t.kind == tokIdent && p.peekAt(1).kind == tokOp && p.peekAt(1).text == "(":
		return p.parseFunctionOperand()
	}
	path, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	return &operand{kind: opPath, path: path}, nil
}

// parseArgs parses '(' operand (',' operand)* ')'.
func (p *parser) parseArgs() ([]*operand, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	var args []*operand
	for {
		arg, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return args, p.expectOp(")")
}

func (p *parser) checkArity(name string, args []*operand, want int) bool {
	if len(args) != want {
		p.semantic("Incorrect number of operands for operator or function; operator or function: " + name + ", number of operands: " + strconv.Itoa(len(args)))
		return false
	}
	return true
}

func (p *parser) requirePath(name string, arg *operand) {
	if arg.kind != opPath {
		p.semantic("Operator or function requires a document path; operator or function: " + name)
	}
}

// parseFunctionOperand parses a function call in operand position: size in
// conditions, if_not_exists and list_append in updates.
func (p *parser) parseFunctionOperand() (*operand, error) {
	name := p.next().text
	args, err := p.parseArgs()
	if err != nil {
		return nil, err
	}
	update := p.kind == UpdateExpression
	switch {
	case name == "size" && !update:
		if p.checkArity(name, args, 1) {
			p.requirePath(name, args[0])
		}
		return &operand{kind: opSize, args: args}, nil
	case name == "if_not_exists" && update:
		if p.checkArity(name, args, 2) {
			p.requirePath(name, args[0])
		}
		return &operand{kind: opIfNotExists, args: args}, nil
	case name == "list_append" && update:
		p.checkArity(name, args, 2)
		return &operand{kind: opListAppend, args: args}, nil
	case update && isConditionFunction(name):
		p.semantic("The function is not allowed in an update expression; function: " + name)
	case !update && isUpdateFunction(name):
		p.semantic("The function is not allowed in a condition expression; function: " + name)
	case !update && isConditionFunction(name):
		p.semantic("The function is not allowed to be used this way in an expression; function: " + name)
	default:
		p.semantic("Invalid function name; function: " + name)
	}
	return &operand{kind: opOtherFunction, args: args}, nil
}

// typeWord is the spelling of types in DynamoDB's operand-type messages.
func typeWord(typ string) string {
	switch typ {
	case TypeS:
		return "STRING"
	case TypeN:
		return "NUMBER"
	case TypeB:
		return "BINARY"
	case TypeBOOL:
		return "BOOLEAN"
	case TypeM:
		return "MAP"
	case TypeL:
		return "LIST"
	case TypeSS:
		return "STRING_SET"
	case TypeNS:
		return "NUMBER_SET"
	case TypeBS:
		return "BINARY_SET"
	}
	return typ
}
