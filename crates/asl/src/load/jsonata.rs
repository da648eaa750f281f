//! JSONata expressions in a definition: the `{% … %}` delimiters and a syntax
//! check (a parser for JSONata 2.0.6 that builds no tree).
//!
//! AWS parses every JSONata expression when a definition is created and
//! refuses one that does not parse with `INVALID_JSONATA_EXPRESSION` and the
//! parser's message without its `Sxxxx` code, e.g. `Unexpected end of
//! expression`. The messages here are jsonata-js's.

use serde_json::Value;

use super::{Cx, child, codes};

/// Whether `s` is meant as a JSONata expression (it opens with `{%` or closes
/// with `%}`).
pub fn is_expression(s: &str) -> bool {
    s.starts_with("{%") || s.ends_with("%}")
}

/// The expression inside `{% … %}`, or `None` when the delimiters are wrong.
/// The form is `{% <expression> %}` on one line.
pub fn body(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{% ")?.strip_suffix(" %}")?;
    if inner.trim().is_empty() || s.contains(['\n', '\r']) {
        return None;
    }
    Some(inner)
}

/// Checks the JSONata string `s` at `loc`; reports and returns `false` when it
/// is not a well-formed expression.
pub(crate) fn expression(cx: &mut Cx, s: &str, loc: &str) -> bool {
    let Some(inner) = body(s) else {
        cx.err(
            codes::INVALID_JSONATA_EXPRESSION,
            "JSONata expressions must be written as '{% <expression> %}'",
            loc,
        );
        return false;
    };
    match parse(inner) {
        Ok(()) => true,
        Err(m) => {
            cx.err(codes::INVALID_JSONATA_EXPRESSION, m, loc);
            false
        }
    }
}

/// Checks every JSONata string inside `v` (objects and arrays, any depth).
pub(crate) fn check_value(cx: &mut Cx, v: &Value, loc: &str) {
    match v {
        Value::String(s) if is_expression(s) => {
            expression(cx, s, loc);
        }
        Value::Object(m) => {
            for (k, x) in m {
                check_value(cx, x, &child(loc, k));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_value(cx, x, &format!("{loc}[{i}]"));
            }
        }
        _ => {}
    }
}

/// Parses a JSONata expression; the error is jsonata's message.
pub fn parse(src: &str) -> Result<(), String> {
    let mut p = Parser {
        lx: Lexer {
            chars: src.chars().collect(),
            pos: 0,
        },
        cur: Tok::End,
        depth: 0,
    };
    p.advance(None, false)?;
    p.expression(0)?;
    if p.cur != Tok::End {
        return Err(format!("Syntax error: \"{}\"", p.cur.text()));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Op(&'static str),
    Literal(String),
    Name(String),
    Var(String),
    Regex,
    End,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Op(o) => (*o).to_string(),
            Tok::Literal(s) | Tok::Name(s) => s.clone(),
            Tok::Var(s) => format!("${s}"),
            Tok::Regex => "/regex/".to_string(),
            Tok::End => "(end)".to_string(),
        }
    }

    fn is(&self, op: &str) -> bool {
        matches!(self, Tok::Op(o) if *o == op)
    }
}

const DOUBLE_OPS: &[&str] = &["..", ":=", "!=", ">=", "<=", "**", "~>"];
const SINGLE_OPS: &[&str] = &[
    ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|",
    "=", "<", ">", "^", "&", "!", "~",
];

fn is_single_op(c: char) -> bool {
    ".[]{}(),@#;:?+-*/%|=<>^&!~".contains(c)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The next token; `after_operand` makes `/` division rather than a regex.
    fn next(&mut self, after_operand: bool) -> Result<Tok, String> {
        loop {
            while self.at(self.pos).is_some_and(char::is_whitespace) {
                self.pos += 1;
            }
            if self.at(self.pos) == Some('/') && self.at(self.pos + 1) == Some('*') {
                let start = self.pos;
                self.pos += 2;
                loop {
                    match self.at(self.pos) {
                        None => {
                            self.pos = start;
                            return Err("Comment has no closing tag".to_string());
                        }
                        Some('*') if self.at(self.pos + 1) == Some('/') => {
                            self.pos += 2;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                continue;
            }
            break;
        }
        let Some(c) = self.at(self.pos) else {
            return Ok(Tok::End);
        };
        if !after_operand && c == '/' {
            self.pos += 1;
            return self.regex();
        }
        if let Some(n) = self.at(self.pos + 1) {
            let pair: String = [c, n].iter().collect();
            if let Some(op) = DOUBLE_OPS.iter().find(|o| **o == pair) {
                self.pos += 2;
                return Ok(Tok::Op(op));
            }
        }
        if is_single_op(c) {
            self.pos += 1;
            let op = SINGLE_OPS
                .iter()
                .find(|o| o.starts_with(c))
                .copied()
                .unwrap_or(".");
            return Ok(Tok::Op(op));
        }
        if c == '"' || c == '\'' {
            self.pos += 1;
            return self.string(c);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '`' {
            self.pos += 1;
            let start = self.pos;
            while let Some(ch) = self.at(self.pos) {
                if ch == '`' {
                    let name: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    return Ok(Tok::Name(name));
                }
                self.pos += 1;
            }
            return Err("Quoted property name must be terminated with a backquote (`)".to_string());
        }
        let start = self.pos;
        while let Some(ch) = self.at(self.pos) {
            if ch.is_whitespace() || is_single_op(ch) {
                break;
            }
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if let Some(v) = word.strip_prefix('$') {
            return Ok(Tok::Var(v.to_string()));
        }
        Ok(match word.as_str() {
            "and" => Tok::Op("and"),
            "or" => Tok::Op("or"),
            "in" => Tok::Op("in"),
            "true" | "false" | "null" => Tok::Literal(word),
            _ => Tok::Name(word),
        })
    }

    fn string(&mut self, quote: char) -> Result<Tok, String> {
        let mut out = String::new();
        while let Some(c) = self.at(self.pos) {
            self.pos += 1;
            if c == quote {
                return Ok(Tok::Literal(out));
            }
            if c == '\\' {
                let Some(e) = self.at(self.pos) else { break };
                self.pos += 1;
                match e {
                    '"' | '\\' | '/' | '\'' => out.push(e),
                    'b' | 'f' | 'n' | 'r' | 't' => out.push(' '),
                    'u' => {
                        let hex: String = (0..4).filter_map(|i| self.at(self.pos + i)).collect();
                        if hex.len() != 4 || !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                            return Err("The escape sequence \\u must be followed by 4 hex digits"
                                .to_string());
                        }
                        self.pos += 4;
                    }
                    other => return Err(format!("Unsupported escape sequence: \\{other}")),
                }
            } else {
                out.push(c);
            }
        }
        Err("String literal must be terminated by a matching quote".to_string())
    }

    fn number(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        if self.at(self.pos) == Some('0') {
            self.pos += 1;
        } else {
            while self.at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if self.at(self.pos) == Some('.')
            && self.at(self.pos + 1).is_some_and(|c| c.is_ascii_digit())
        {
            self.pos += 1;
            while self.at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        if matches!(self.at(self.pos), Some('e' | 'E')) {
            let mut i = self.pos + 1;
            if matches!(self.at(i), Some('+' | '-')) {
                i += 1;
            }
            if self.at(i).is_some_and(|c| c.is_ascii_digit()) {
                self.pos = i;
                while self.at(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Literal(text)),
            _ => Err(format!("Number out of range: {text}")),
        }
    }

    fn regex(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        let mut depth = 0i32;
        while let Some(c) = self.at(self.pos) {
            if c == '/' && self.pos > 0 && self.at(self.pos - 1) != Some('\\') && depth == 0 {
                if self.pos == start {
                    return Err("Empty regular expressions are not allowed".to_string());
                }
                self.pos += 1;
                while matches!(self.at(self.pos), Some('i' | 'm')) {
                    self.pos += 1;
                }
                return Ok(Tok::Regex);
            }
            if matches!(c, '(' | '[' | '{') && self.at(self.pos.wrapping_sub(1)) != Some('\\') {
                depth += 1;
            }
            if matches!(c, ')' | ']' | '}') && self.at(self.pos.wrapping_sub(1)) != Some('\\') {
                depth -= 1;
            }
            self.pos += 1;
        }
        Err("No terminating / in regular expression".to_string())
    }
}

/// What a parsed sub-expression was, as far as the checks need to know.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Var,
    Name(String),
    Other,
}

/// The deepest nesting accepted (keeps recursion bounded on hostile input).
const MAX_DEPTH: usize = 200;

struct Parser {
    lx: Lexer,
    cur: Tok,
    depth: usize,
}

impl Parser {
    fn advance(&mut self, expect: Option<&str>, after_operand: bool) -> Result<(), String> {
        if let Some(id) = expect
            && !self.cur.is(id)
        {
            return Err(if self.cur == Tok::End {
                format!("Expected \"{id}\" before end of expression")
            } else {
                format!("Expected \"{id}\", got \"{}\"", self.cur.text())
            });
        }
        let t = self.lx.next(after_operand)?;
        if let Tok::Op(o) = t
            && (o == "!" || o == "~")
        {
            return Err(format!("Unknown operator: \"{o}\""));
        }
        self.cur = t;
        Ok(())
    }

    fn lbp(&self) -> u8 {
        match &self.cur {
            Tok::Op(o) => match *o {
                "." => 75,
                "[" | "(" | "@" | "#" => 80,
                "{" => 70,
                "?" => 20,
                "+" | "-" | "&" => 50,
                "*" | "/" | "%" => 60,
                "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "in" => 40,
                ":=" => 10,
                "and" => 30,
                "or" => 25,
                _ => 0,
            },
            _ => 0,
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("Expression is nested too deeply".to_string());
        }
        let t = self.cur.clone();
        let operand = matches!(t, Tok::Literal(_) | Tok::Name(_) | Tok::Var(_) | Tok::Regex)
            || matches!(t, Tok::Op("*" | "**" | "%" | "and" | "or" | "in"));
        self.advance(None, operand)?;
        let mut left = self.nud(t)?;
        while rbp < self.lbp() {
            let t = self.cur.clone();
            self.advance(None, false)?;
            left = self.led(t, left)?;
        }
        self.depth -= 1;
        Ok(left)
    }

    fn nud(&mut self, t: Tok) -> Result<Node, String> {
        match t {
            Tok::Literal(_) | Tok::Regex => Ok(Node::Other),
            Tok::Name(n) => Ok(Node::Name(n)),
            Tok::Var(_) => Ok(Node::Var),
            Tok::End => Err("Unexpected end of expression".to_string()),
            Tok::Op(o) => match o {
                "and" | "or" | "in" => Ok(Node::Name(o.to_string())),
                "*" | "**" | "%" => Ok(Node::Other),
                "-" => {
                    self.expression(70)?;
                    Ok(Node::Other)
                }
                "(" => {
                    while !self.cur.is(")") {
                        self.expression(0)?;
                        if !self.cur.is(";") {
                            break;
                        }
                        self.advance(Some(";"), false)?;
                    }
                    self.advance(Some(")"), true)?;
                    Ok(Node::Other)
                }
                "[" => {
                    if !self.cur.is("]") {
                        loop {
                            self.expression(0)?;
                            if self.cur.is("..") {
                                self.advance(Some(".."), false)?;
                                self.expression(0)?;
                            }
                            if !self.cur.is(",") {
                                break;
                            }
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some("]"), true)?;
                    Ok(Node::Other)
                }
                "{" => {
                    self.object()?;
                    Ok(Node::Other)
                }
                "|" => {
                    self.expression(0)?;
                    self.advance(Some("|"), false)?;
                    self.expression(0)?;
                    if self.cur.is(",") {
                        self.advance(Some(","), false)?;
                        self.expression(0)?;
                    }
                    self.advance(Some("|"), true)?;
                    Ok(Node::Other)
                }
                _ => Err(format!(
                    "The symbol \"{o}\" cannot be used as a unary operator"
                )),
            },
        }
    }

    /// `{ key: value, ... }` after the opening brace.
    fn object(&mut self) -> Result<(), String> {
        if !self.cur.is("}") {
            loop {
                self.expression(0)?;
                self.advance(Some(":"), false)?;
                self.expression(0)?;
                if !self.cur.is(",") {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some("}"), true)
    }

    fn led(&mut self, t: Tok, left: Node) -> Result<Node, String> {
        let Tok::Op(o) = t else {
            return Err(format!("Syntax error: \"{}\"", t.text()));
        };
        match o {
            "(" => {
                if matches!(&left, Node::Name(n) if n == "function" || n == "λ") {
                    while !self.cur.is(")") {
                        if !matches!(self.cur, Tok::Var(_)) {
                            return Err(format!(
                                "Parameter {} of function definition must be a variable name (start with $)",
                                self.cur.text()
                            ));
                        }
                        self.advance(None, true)?;
                        if self.cur.is(",") {
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some(")"), true)?;
                    if self.cur.is("<") {
                        let mut depth = 0i32;
                        loop {
                            if self.cur.is("<") {
                                depth += 1;
                            } else if self.cur.is(">") {
                                depth -= 1;
                            }
                            if depth == 0 || self.cur.is("{") || self.cur == Tok::End {
                                break;
                            }
                            self.advance(None, true)?;
                        }
                        self.advance(Some(">"), true)?;
                    }
                    self.advance(Some("{"), false)?;
                    self.expression(0)?;
                    self.advance(Some("}"), true)?;
                } else {
                    while !self.cur.is(")") {
                        if self.cur.is("?") {
                            self.advance(Some("?"), true)?;
                        } else {
                            self.expression(0)?;
                        }
                        if !self.cur.is(",") {
                            break;
                        }
                        self.advance(Some(","), false)?;
                    }
                    self.advance(Some(")"), true)?;
                }
                Ok(Node::Other)
            }
            "[" => {
                if self.cur.is("]") {
                    self.advance(Some("]"), true)?;
                } else {
                    self.expression(0)?;
                    self.advance(Some("]"), true)?;
                }
                Ok(Node::Other)
            }
            "{" => {
                self.object()?;
                Ok(Node::Other)
            }
            ":=" => {
                if left != Node::Var {
                    return Err(
                        "The left side of := must be a variable name (start with $)".to_string()
                    );
                }
                self.expression(9)?;
                Ok(Node::Other)
            }
            "?" => {
                self.expression(0)?;
                if self.cur.is(":") {
                    self.advance(Some(":"), false)?;
                    self.expression(0)?;
                }
                Ok(Node::Other)
            }
            "^" => {
                self.advance(Some("("), false)?;
                loop {
                    if self.cur.is("<") || self.cur.is(">") {
                        self.advance(None, false)?;
                    }
                    self.expression(0)?;
                    if !self.cur.is(",") {
                        break;
                    }
                    self.advance(Some(","), false)?;
                }
                self.advance(Some(")"), true)?;
                Ok(Node::Other)
            }
            "@" | "#" => {
                if self.expression(80)? != Node::Var {
                    return Err(format!(
                        "The right side of \"{o}\" must be a variable name (start with $)"
                    ));
                }
                Ok(Node::Other)
            }
            _ => {
                let bp = match o {
                    "." => 75,
                    "+" | "-" | "&" => 50,
                    "*" | "/" | "%" => 60,
                    "and" => 30,
                    "or" => 25,
                    _ => 40,
                };
                self.expression(bp)?;
                Ok(Node::Other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_valid_expressions() {
        for e in [
            "10",
            "$states.input.a + 1",
            "$sum($states.input.items.numbers)",
            "($x := 5; $x * 2)",
            "function($a, $b) { $a + $b }",
            "$map([1,2,3], function($v) { $v * 2 })",
            "a.b[0].c",
            "a[b > 1]",
            "[1..5]",
            "{\"a\": 1, \"b\": [1, 2]}",
            "$exists(x) ? 'yes' : 'no'",
            "a ~> $uppercase()",
            "a^(>b, c)",
            "$match('abc', /b+/i)",
            "/* c */ 1 / 2",
            "$states.input.items[price > 10].name",
            "($f := function($x)<n:n>{ $x }; $f(1))",
            "| a | {'b': 1} |",
            "a@$x.b#$i",
            "`weird name`.x",
            "$partition([1,2], 1)",
            "(1; 2)",
            "-1",
            "$not(null in $each($states.input.data, function($v) { $length($trim($v)) > 0 ? $v : null }))",
        ] {
            assert_eq!(parse(e), Ok(()), "{e}");
        }
    }

    #[test]
    fn rejects_invalid_expressions() {
        for (e, m) in [
            ("10 + * 2", "Syntax error: \"2\""),
            (
                "10 + ? 2",
                "The symbol \"?\" cannot be used as a unary operator",
            ),
            (
                "$sum($states.input.items.numbers",
                "Expected \")\" before end of expression",
            ),
            (
                "$.store.book[?(@.price < 10)].title",
                "The symbol \"?\" cannot be used as a unary operator",
            ),
            ("420.", "Unexpected end of expression"),
            ("a[1,2)", "Expected \"]\", got \",\""),
            (
                "\"unterminated",
                "String literal must be terminated by a matching quote",
            ),
            ("1 +", "Unexpected end of expression"),
            (
                "{\"a\":}",
                "The symbol \"}\" cannot be used as a unary operator",
            ),
            ("$x :=", "Unexpected end of expression"),
            (
                "$match(\"a\", /abc",
                "No terminating / in regular expression",
            ),
            ("1 2", "Syntax error: \"2\""),
            (
                "a := 1",
                "The left side of := must be a variable name (start with $)",
            ),
        ] {
            assert_eq!(parse(e), Err(m.to_string()), "{e}");
        }
    }
}
