//! The hand-written parser: path text → root + segments, filter text → [`Expr`].
//!
//! The token grammar follows Jayway JsonPath's `PathCompiler`, which AWS Step
//! Functions runs: after the root, a token starts with `[` (bracket), `.` (dot
//! or `..` deep scan), `*` (wildcard) or anything else (a dot-name that runs up
//! to the next `.`, `[` or `(`). Brackets hold quoted names, integer indices,
//! slices, `*` or a `?(...)` filter. Only spaces count as blanks inside
//! brackets, as in Jayway.

use serde_json::Value;

use super::Root;
use super::filter::{CmpOp, Expr, Operand, SubPath};
use super::regex::Regex;

/// Maximum nesting of filters inside filters, and of parentheses in a filter.
const MAX_NESTING: u32 = 32;

/// Maximum number of tokens in one path (evaluation recurses per branching token).
const MAX_TOKENS: usize = 512;

/// One path token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    /// `.name` or `['name']`.
    Name(String),
    /// `['a','b']`: merged into one object when last, an error otherwise (Jayway).
    Names(Vec<String>),
    /// `[n]` (negative counts from the end).
    Index(i32),
    /// `[n,m,...]`.
    Indexes(Vec<i32>),
    /// `[from:to]` (Jayway ignores a third, step, part).
    Slice { from: Option<i32>, to: Option<i32> },
    /// `.*` or `[*]`.
    Wildcard,
    /// `..`: applies the next token at every depth.
    Scan,
    /// `[?(...)]`.
    Filter(Box<Expr>),
    /// `.name()`: Jayway function syntax; AWS accepts it but never finds a value.
    Function(String),
}

pub(crate) struct Parsed {
    pub root: Root,
    pub segs: Vec<Seg>,
}

/// Parses a whole path (`$`, `$$`, `$name` roots).
pub(crate) fn parse_path(src: &str) -> Result<Parsed, String> {
    let text = src.trim_end_matches([' ', '\t', '\r', '\n']);
    let b = text.as_bytes();
    if b.first() != Some(&b'$') {
        return Err("a path must start with '$'".to_string());
    }
    let (root, start) = if b.get(1) == Some(&b'$') {
        (Root::Context, 2)
    } else if b
        .get(1)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        let mut end = 2;
        while b
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            end += 1;
        }
        (Root::Variable(text[1..end].to_string()), end)
    } else {
        (Root::Input, 1)
    };
    let mut p = Parser {
        src: text,
        b,
        pos: start,
        depth: 0,
    };
    let segs = p.tokens()?;
    Ok(Parsed { root, segs })
}

/// Parses a path inside a filter: root `@` (current item) or `$` (document).
fn parse_sub_path(text: &str, depth: u32) -> Result<SubPath, String> {
    let b = text.as_bytes();
    let current = match b.first() {
        Some(b'@') => true,
        Some(b'$') => false,
        _ => return Err(format!("expected '@' or '$' at the start of '{text}'")),
    };
    let mut p = Parser {
        src: text,
        b,
        pos: 1,
        depth,
    };
    let segs = p.tokens()?;
    Ok(SubPath::new(current, segs))
}

struct Parser<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    depth: u32,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// Index of the first non-space byte at or after `i` (Jayway skips spaces only).
    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    fn slice(&self, from: usize, to: usize) -> Result<&str, String> {
        self.src
            .get(from..to)
            .ok_or_else(|| format!("invalid character boundary at position {from}"))
    }

    /// Root has been consumed; reads every following token.
    fn tokens(&mut self) -> Result<Vec<Seg>, String> {
        let mut segs = Vec::new();
        if self.pos >= self.b.len() {
            return Ok(segs);
        }
        if self.b.last() == Some(&b'.') {
            return Err("a path must not end with '.' or '..'".to_string());
        }
        match self.at(self.pos) {
            Some(b'.' | b'[') => {}
            _ => {
                return Err(format!(
                    "illegal character at position {}: expected '.' or '['",
                    self.pos
                ));
            }
        }
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'[' => segs.push(self.bracket()?),
                b'.' => {
                    if self.at(self.pos + 1) == Some(b'.') {
                        segs.push(Seg::Scan);
                        self.pos += 2;
                    } else {
                        self.pos += 1;
                    }
                    match self.at(self.pos) {
                        None => return Err("a path must not end with '.' or '..'".to_string()),
                        Some(b'.') => {
                            return Err(format!(
                                "character '.' at position {} is not valid",
                                self.pos
                            ));
                        }
                        Some(b' ') => {
                            return Err(format!(
                                "could not parse the token at position {}",
                                self.pos
                            ));
                        }
                        _ => {}
                    }
                }
                b'*' => {
                    segs.push(Seg::Wildcard);
                    self.pos += 1;
                }
                b' ' => {
                    return Err(format!(
                        "could not parse the token at position {}",
                        self.pos
                    ));
                }
                _ => segs.push(self.name_or_function()?),
            }
        }
        if segs.len() > MAX_TOKENS {
            return Err(format!("a path may have at most {MAX_TOKENS} tokens"));
        }
        if matches!(segs.last(), Some(Seg::Scan)) {
            return Err("a path must not end with '..'".to_string());
        }
        Ok(segs)
    }

    /// `name` or `name()` after a dot (or directly after another token, as Jayway allows).
    fn name_or_function(&mut self) -> Result<Seg, String> {
        let start = self.pos;
        let mut i = start;
        while let Some(c) = self.at(i) {
            match c {
                b' ' => {
                    return Err(format!(
                        "use bracket notation ['my prop'] if a property name contains blanks (position {start})"
                    ));
                }
                b'.' | b'[' => break,
                b'(' => {
                    let name = self.slice(start, i)?.to_string();
                    let mut level = 1u32;
                    let mut j = i + 1;
                    while let Some(c) = self.at(j) {
                        match c {
                            b'(' => level += 1,
                            b')' => {
                                level -= 1;
                                if level == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    if level != 0 {
                        return Err(format!(
                            "arguments to function '{name}' are not closed properly"
                        ));
                    }
                    self.pos = j + 1;
                    return Ok(Seg::Function(name));
                }
                _ => {}
            }
            i += 1;
        }
        let name = self.slice(start, i)?.to_string();
        self.pos = i;
        Ok(Seg::Name(name))
    }

    fn bracket(&mut self) -> Result<Seg, String> {
        let open = self.pos;
        let sig = self.skip_spaces(open + 1);
        match self.at(sig) {
            Some(q @ (b'\'' | b'"')) => self.bracket_names(q),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b':' => self.array(),
            Some(b'*') => {
                let close = self.skip_spaces(sig + 1);
                if self.at(close) != Some(b']') {
                    return Err(format!(
                        "expected the wildcard token to end with ']' at position {}",
                        sig + 1
                    ));
                }
                self.pos = close + 1;
                Ok(Seg::Wildcard)
            }
            Some(b'?') => {
                let paren = self.skip_spaces(sig + 1);
                if self.at(paren) != Some(b'(') {
                    return Err(format!(
                        "a filter must be written '[?(<expression>)]' (position {open})"
                    ));
                }
                if self.depth >= MAX_NESTING {
                    return Err("filters nest too deeply".to_string());
                }
                let mut fp = FilterParser {
                    src: self.src,
                    b: self.b,
                    pos: paren + 1,
                    depth: self.depth + 1,
                    nest: 0,
                };
                let expr = fp.or()?;
                let close_paren = fp.skip_ws(fp.pos);
                if fp.at(close_paren) != Some(b')') {
                    return Err(format!(
                        "expected ')' at position {close_paren} to close the filter"
                    ));
                }
                let close = self.skip_spaces(close_paren + 1);
                if self.at(close) != Some(b']') {
                    return Err(format!(
                        "expected ']' at position {close} to close the filter"
                    ));
                }
                self.pos = close + 1;
                Ok(Seg::Filter(Box::new(expr)))
            }
            _ => Err(format!(
                "could not parse the token at position {open}: expected ?, ', 0-9 or *"
            )),
        }
    }

    /// `['a']`, `["a"]`, `['a','b']`. Escapes are kept verbatim, as AWS does;
    /// a backslash only stops the next character from closing the name.
    fn bracket_names(&mut self, delim: u8) -> Result<Seg, String> {
        let mut names = Vec::new();
        let mut i = self.pos + 1;
        let mut in_name = false;
        let mut escaped = false;
        let mut last_comma = false;
        let mut start = 0;
        let mut closed = false;
        while let Some(c) = self.at(i) {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if in_name {
                if c == delim {
                    let next = self.skip_spaces(i + 1);
                    if !matches!(self.at(next), Some(b']' | b',')) {
                        return Err(format!(
                            "properties must be separated by ',' or closed by ']' (position {i})"
                        ));
                    }
                    names.push(self.slice(start, i)?.to_string());
                    in_name = false;
                }
            } else if c == b']' {
                if last_comma {
                    return Err(format!("empty property at position {i}"));
                }
                closed = true;
                break;
            } else if c == delim {
                start = i + 1;
                in_name = true;
                last_comma = false;
            } else if c == b',' {
                if last_comma {
                    return Err(format!("empty property at position {i}"));
                }
                last_comma = true;
            } else if c != b' ' {
                return Err(format!(
                    "unexpected character at position {i} in a bracketed property"
                ));
            }
            i += 1;
        }
        if in_name {
            return Err(format!(
                "property has not been closed: missing closing {}",
                delim as char
            ));
        }
        if !closed {
            return Err("property has not been closed: missing closing ]".to_string());
        }
        self.pos = i + 1;
        if names.len() == 1 {
            Ok(Seg::Name(names.swap_remove(0)))
        } else {
            Ok(Seg::Names(names))
        }
    }

    /// `[1]`, `[-1]`, `[1,2]`, `[1:]`, `[:2]`, `[1:2]`.
    fn array(&mut self) -> Result<Seg, String> {
        let open = self.pos;
        let Some(close) = self.b[open..]
            .iter()
            .position(|&c| c == b']')
            .map(|i| open + i)
        else {
            return Err(format!(
                "could not parse the token at position {open}: missing ']'"
            ));
        };
        let src = self.src;
        let expr = src
            .get(open + 1..close)
            .ok_or_else(|| format!("invalid character boundary at position {open}"))?
            .trim_matches(|c: char| c <= ' ');
        if !expr
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b',' | b'-' | b':' | b' '))
        {
            return Err(format!(
                "could not parse the token at position {open}: expected ?, ', 0-9 or *"
            ));
        }
        self.pos = close + 1;
        if expr.contains(':') {
            if expr.contains([' ', ',']) {
                return Err(format!("failed to parse the slice '{expr}'"));
            }
            // Java's String.split drops trailing empty parts.
            let mut parts: Vec<&str> = expr.split(':').collect();
            while parts.last() == Some(&"") {
                parts.pop();
            }
            let read = |i: usize| -> Result<Option<i32>, String> {
                match parts.get(i) {
                    None | Some(&"") => Ok(None),
                    Some(s) => s
                        .parse::<i32>()
                        .map(Some)
                        .map_err(|_| format!("failed to parse the slice '{expr}'")),
                }
            };
            let (from, to) = (read(0)?, read(1)?);
            if from.is_none() && to.is_none() {
                return Err(format!("failed to parse the slice '{expr}'"));
            }
            return Ok(Seg::Slice { from, to });
        }
        let mut indexes = Vec::new();
        for part in expr.split(',') {
            let n = part
                .trim()
                .parse::<i32>()
                .map_err(|_| format!("failed to parse the array index '{}'", part.trim()))?;
            indexes.push(n);
        }
        if indexes.len() == 1 {
            Ok(Seg::Index(indexes[0]))
        } else {
            Ok(Seg::Indexes(indexes))
        }
    }
}

/// Recursive-descent parser for the inside of `[?( ... )]`.
///
/// Grammar: `or := and ('||' and)*`, `and := unary ('&&' unary)*`,
/// `unary := '!' unary | '(' or ')' | operand [op operand]`. An operand alone
/// must be a path and is an existence test.
struct FilterParser<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    depth: u32,
    nest: u32,
}

impl FilterParser<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(is_blank) {
            i += 1;
        }
        i
    }

    fn starts(&self, i: usize, s: &[u8]) -> bool {
        self.b.get(i..i + s.len()) == Some(s)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and()?];
        loop {
            let i = self.skip_ws(self.pos);
            if !self.starts(i, b"||") {
                break;
            }
            self.pos = i + 2;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.unary()?];
        loop {
            let i = self.skip_ws(self.pos);
            if !self.starts(i, b"&&") {
                break;
            }
            self.pos = i + 2;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.nest >= MAX_NESTING {
            return Err("filter expression nests too deeply".to_string());
        }
        let i = self.skip_ws(self.pos);
        match self.at(i) {
            Some(b'!') if self.at(i + 1) != Some(b'=') => {
                self.pos = i + 1;
                self.nest += 1;
                let e = self.unary()?;
                self.nest -= 1;
                Ok(Expr::Not(Box::new(e)))
            }
            Some(b'(') => {
                self.pos = i + 1;
                self.nest += 1;
                let e = self.or()?;
                self.nest -= 1;
                let close = self.skip_ws(self.pos);
                if self.at(close) != Some(b')') {
                    return Err(format!("expected ')' at position {close} in the filter"));
                }
                self.pos = close + 1;
                Ok(e)
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.operand()?;
        let i = self.skip_ws(self.pos);
        let op = match self.at(i) {
            Some(b'<' | b'>' | b'=' | b'~' | b'!') => {
                let mut j = i;
                while matches!(self.at(j), Some(b'<' | b'>' | b'=' | b'~' | b'!')) {
                    j += 1;
                }
                let text = self.src.get(i..j).unwrap_or_default();
                let op = match text {
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    "=~" => CmpOp::Regex,
                    other => return Err(format!("unsupported filter operator '{other}'")),
                };
                self.pos = j;
                Some(op)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let mut j = i;
                while self.at(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                    j += 1;
                }
                let word = self.src.get(i..j).unwrap_or_default();
                let op = match word {
                    "in" => CmpOp::In,
                    "nin" => CmpOp::Nin,
                    "subsetof" => CmpOp::SubsetOf,
                    "anyof" => CmpOp::AnyOf,
                    "noneof" => CmpOp::NoneOf,
                    "size" => CmpOp::Size,
                    "empty" => CmpOp::Empty,
                    "contains" => CmpOp::Contains,
                    other => return Err(format!("unsupported filter operator '{other}'")),
                };
                self.pos = j;
                Some(op)
            }
            _ => None,
        };
        match op {
            Some(op) => {
                let right = self.operand()?;
                Ok(Expr::Cmp(left, op, right))
            }
            None => match left {
                Operand::Path(p) => Ok(Expr::Exists(p)),
                _ => {
                    Err("a filter term must be a comparison or a path (existence test)".to_string())
                }
            },
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let i = self.skip_ws(self.pos);
        let Some(c) = self.at(i) else {
            return Err("unexpected end of the filter expression".to_string());
        };
        self.pos = i;
        match c {
            b'@' | b'$' => self.sub_path(),
            b'\'' | b'"' => self
                .string_literal(c)
                .map(|s| Operand::Lit(Value::String(s))),
            b'/' => self.regex(),
            b'[' | b'{' => self.json_literal(),
            b't' | b'f' | b'n' => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.starts(i, word.as_bytes())
                        && !self
                            .at(i + word.len())
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        self.pos = i + word.len();
                        return Ok(Operand::Lit(value));
                    }
                }
                Err(format!("unexpected value at position {i} in the filter"))
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'.' => self.number(),
            // Jayway's `readLiteral` sends anything else to `readNumberLiteral`,
            // which reads nothing; `new BigDecimal("")` then throws and the
            // filter does not compile ("Could not compile inline filter"). So an
            // unquoted word such as `@.k == FooBar` is an invalid path.
            _ => Err(format!(
                "unexpected character at position {i} in the filter: a value must be a path, a quoted string, a number, true, false, null, a JSON literal or a /pattern/"
            )),
        }
    }

    fn sub_path(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        let mut i = start + 1;
        while let Some(c) = self.at(i) {
            match c {
                b'[' => {
                    i = self.matching(i, b'[', b']')?;
                }
                b'(' if self.at(i + 1) == Some(b')') => i += 2,
                b' ' | b'\t' | b'\n' | b'\r' | b'<' | b'>' | b'=' | b'~' | b'!' | b')' | b'('
                | b',' => break,
                b'&' if self.at(i + 1) == Some(b'&') => break,
                b'|' if self.at(i + 1) == Some(b'|') => break,
                _ => i += 1,
            }
        }
        let text = self
            .src
            .get(start..i)
            .ok_or_else(|| "invalid character boundary in a filter path".to_string())?;
        let path = parse_sub_path(text, self.depth)?;
        self.pos = i;
        Ok(Operand::Path(path))
    }

    /// Index just past the bracket that closes the one at `open`, skipping quoted text.
    fn matching(&self, open: usize, o: u8, c: u8) -> Result<usize, String> {
        let mut level = 0u32;
        let mut i = open;
        while let Some(ch) = self.at(i) {
            if ch == b'\'' || ch == b'"' {
                i = self.string_end(i)?;
                continue;
            }
            if ch == o {
                level += 1;
            } else if ch == c {
                level -= 1;
                if level == 0 {
                    return Ok(i + 1);
                }
            }
            i += 1;
        }
        Err(format!("unbalanced '{}' in the filter", o as char))
    }

    /// Index just past the closing quote of the string starting at `i`.
    fn string_end(&self, i: usize) -> Result<usize, String> {
        let Some(q) = self.at(i) else {
            return Err("unexpected end of the filter".to_string());
        };
        let mut j = i + 1;
        while let Some(ch) = self.at(j) {
            if ch == b'\\' {
                j += 2;
                continue;
            }
            if ch == q {
                return Ok(j + 1);
            }
            j += 1;
        }
        Err(format!(
            "string not closed: expected {} in the filter",
            q as char
        ))
    }

    fn string_literal(&mut self, _q: u8) -> Result<String, String> {
        let start = self.pos;
        let end = self.string_end(start)?;
        let raw = self
            .src
            .get(start + 1..end - 1)
            .ok_or_else(|| "invalid string literal in the filter".to_string())?;
        self.pos = end;
        Ok(unescape(raw))
    }

    fn regex(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        let mut j = start + 1;
        loop {
            match self.at(j) {
                None => return Err("pattern not closed: expected '/' in the filter".to_string()),
                Some(b'\\') => j += 2,
                Some(b'/') => break,
                Some(_) => j += 1,
            }
        }
        let pattern = self
            .src
            .get(start + 1..j)
            .ok_or_else(|| "invalid pattern in the filter".to_string())?;
        let mut end = j + 1;
        let mut icase = false;
        while let Some(flag) = self.at(end).filter(|c| c.is_ascii_alphabetic()) {
            match flag {
                b'i' => icase = true,
                b'm' | b's' | b'x' | b'u' | b'd' => {}
                other => {
                    return Err(format!(
                        "unknown regular expression flag '{}'",
                        other as char
                    ));
                }
            }
            end += 1;
        }
        let re = Regex::new(pattern, icase)?;
        self.pos = end;
        Ok(Operand::Regex(Box::new(re)))
    }

    fn json_literal(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        let (o, c) = if self.at(start) == Some(b'[') {
            (b'[', b']')
        } else {
            (b'{', b'}')
        };
        let end = self.matching(start, o, c)?;
        let text = self
            .src
            .get(start..end)
            .ok_or_else(|| "invalid JSON literal in the filter".to_string())?;
        let value = permissive_json(text)
            .ok_or_else(|| format!("invalid JSON literal {text} in the filter"))?;
        self.pos = end;
        Ok(Operand::Lit(value))
    }

    /// A number literal. Jayway's `readNumberLiteral` takes the run of digits,
    /// `-` and `.` (`CharacterIndex.isNumberCharacter`) and hands it to
    /// `BigDecimal`, so there is no exponent form: `1e5` stops after `1`.
    fn number(&mut self) -> Result<Operand, String> {
        let start = self.pos;
        let mut j = start;
        while self
            .at(j)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'.'))
        {
            j += 1;
        }
        let text = self.src.get(start..j).unwrap_or_default();
        let value =
            number_value(text).ok_or_else(|| format!("invalid number '{text}' in the filter"))?;
        self.pos = j;
        Ok(Operand::Lit(value))
    }
}

fn number_value(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    let f = text.parse::<f64>().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// Java-style unescaping of a filter string literal (`\n`, `\'`, `\uXXXX`, ...).
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut units: Vec<u16> = Vec::new();
    let mut chars = raw.chars().peekable();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        if !units.is_empty() {
            out.extend(char::decode_utf16(units.drain(..)).map(|r| r.unwrap_or('\u{fffd}')));
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut units, &mut out);
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u16::from_str_radix(&hex, 16) {
                    Ok(u) if hex.len() == 4 => {
                        for _ in 0..4 {
                            chars.next();
                        }
                        units.push(u);
                        continue;
                    }
                    _ => {
                        flush(&mut units, &mut out);
                        out.push('u');
                    }
                }
            }
            Some(e) => {
                flush(&mut units, &mut out);
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    other => other,
                });
            }
            None => {
                flush(&mut units, &mut out);
                out.push('\\');
            }
        }
    }
    flush(&mut units, &mut out);
    out
}

/// Parses a JSON literal that may use single-quoted strings (as json-smart allows).
fn permissive_json(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut esc = false;
                for d in chars.by_ref() {
                    out.push(d);
                    if esc {
                        esc = false;
                    } else if d == '\\' {
                        esc = true;
                    } else if d == '"' {
                        break;
                    }
                }
            }
            '\'' => {
                let mut s = String::new();
                let mut esc = false;
                let mut closed = false;
                for d in chars.by_ref() {
                    if esc {
                        s.push('\\');
                        s.push(d);
                        esc = false;
                    } else if d == '\\' {
                        esc = true;
                    } else if d == '\'' {
                        closed = true;
                        break;
                    } else {
                        s.push(d);
                    }
                }
                if !closed {
                    return None;
                }
                let s = unescape(&s);
                out.push_str(&serde_json::to_string(&s).ok()?);
            }
            c => out.push(c),
        }
    }
    serde_json::from_str(&out).ok()
}
