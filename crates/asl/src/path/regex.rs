//! A small backtracking regular-expression engine for the `=~` filter operator.
//!
//! Jayway (and so AWS) compiles `/pattern/flags` with `java.util.regex` and tests
//! with `Matcher.matches()`, i.e. the whole input must match. This engine covers
//! the commonly used subset of Java syntax: literals, `.`, character classes
//! (`[a-z]`, `[^...]`, `\d \w \s` and their negations), anchors `^ $`, word
//! boundaries `\b \B`, groups `(...)` / `(?:...)`, alternation `|`, and the
//! greedy and lazy quantifiers `* + ? {n} {n,} {n,m}`. The `i` flag makes the
//! match case-insensitive. Unsupported syntax is a compile error.
//!
//! Matching is bounded: a step budget and a recursion-depth limit stop
//! pathological patterns; a match that runs out of budget counts as no match.

use std::cell::Cell;

const MAX_STEPS: u64 = 1_000_000;
const MAX_DEPTH: u32 = 2_000;
const MAX_NEST: u32 = 64;
const MAX_REPEAT: u32 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Regex {
    alts: Vec<Vec<Node>>,
    icase: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class(Class),
    Start,
    End,
    WordBoundary(bool),
    Group(Vec<Vec<Node>>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl Regex {
    /// Compiles `pattern` (the text between the slashes); `icase` is the `i` flag.
    pub(crate) fn new(pattern: &str, icase: bool) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Compiler {
            chars: &chars,
            pos: 0,
            nest: 0,
        };
        let alts = p.alternatives()?;
        if p.pos < chars.len() {
            return Err(format!("unbalanced ')' in regular expression /{pattern}/"));
        }
        Ok(Regex { alts, icase })
    }

    /// Whole-input match, like Java's `Matcher.matches()`.
    pub(crate) fn full_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let m = Matcher {
            text: &chars,
            icase: self.icase,
            steps: Cell::new(0),
            depth: Cell::new(0),
        };
        let end = chars.len();
        m.alts(&self.alts, 0, &mut |p| p == end)
    }
}

struct Compiler<'c> {
    chars: &'c [char],
    pos: usize,
    nest: u32,
}

impl Compiler<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, String> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.sequence()?);
        }
        Ok(alts)
    }

    fn sequence(&mut self) -> Result<Vec<Node>, String> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            seq.push(atom);
        }
        Ok(seq)
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') => match self.counted()? {
                Some(r) => r,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        if matches!(atom, Node::Start | Node::End | Node::WordBoundary(_)) {
            return Err("quantifier after an anchor in regular expression".to_string());
        }
        let greedy = match self.peek() {
            Some('?') => {
                self.pos += 1;
                false
            }
            Some('+') => return Err("possessive quantifiers are not supported".to_string()),
            _ => true,
        };
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err("dangling quantifier in regular expression".to_string());
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    /// `{n}`, `{n,}`, `{n,m}`; `None` if the brace is not a quantifier.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, String> {
        let start = self.pos;
        self.pos += 1;
        let min = self.number();
        let Some(min) = min else {
            return Err("malformed '{' quantifier in regular expression".to_string());
        };
        let max = if self.peek() == Some(',') {
            self.pos += 1;
            if self.peek() == Some('}') {
                None
            } else {
                match self.number() {
                    Some(m) => Some(m),
                    None => {
                        self.pos = start;
                        return Err("malformed '{' quantifier in regular expression".to_string());
                    }
                }
            }
        } else {
            Some(min)
        };
        if self.peek() != Some('}') {
            return Err("malformed '{' quantifier in regular expression".to_string());
        }
        self.pos += 1;
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
            return Err("invalid repetition count in regular expression".to_string());
        }
        Ok(Some((min, max)))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        let s: String = self.chars.get(start..self.pos)?.iter().collect();
        s.parse().ok()
    }

    fn atom(&mut self) -> Result<Node, String> {
        let Some(c) = self.peek() else {
            return Err("unexpected end of regular expression".to_string());
        };
        self.pos += 1;
        match c {
            '.' => Ok(Node::Any),
            '^' => Ok(Node::Start),
            '$' => Ok(Node::End),
            '(' => {
                if self.nest >= MAX_NEST {
                    return Err("regular expression nests too deeply".to_string());
                }
                if self.peek() == Some('?') {
                    if self.chars.get(self.pos + 1) == Some(&':') {
                        self.pos += 2;
                    } else {
                        return Err("unsupported group construct in regular expression".to_string());
                    }
                }
                self.nest += 1;
                let alts = self.alternatives()?;
                self.nest -= 1;
                if self.peek() != Some(')') {
                    return Err("unclosed group in regular expression".to_string());
                }
                self.pos += 1;
                Ok(Node::Group(alts))
            }
            '[' => self.class(),
            '\\' => self.escape(false).map(|e| match e {
                Escaped::Char(c) => Node::Char(c),
                Escaped::Item(i) => Node::Class(Class {
                    negated: false,
                    items: vec![i],
                }),
                Escaped::Boundary(b) => Node::WordBoundary(b),
            }),
            '*' | '+' | '?' => Err(format!("dangling '{c}' in regular expression")),
            '{' => Err("dangling '{' in regular expression".to_string()),
            c => Ok(Node::Char(c)),
        }
    }

    fn escape(&mut self, in_class: bool) -> Result<Escaped, String> {
        let Some(c) = self.peek() else {
            return Err("trailing '\\' in regular expression".to_string());
        };
        self.pos += 1;
        Ok(match c {
            'd' => Escaped::Item(ClassItem::Digit(true)),
            'D' => Escaped::Item(ClassItem::Digit(false)),
            'w' => Escaped::Item(ClassItem::Word(true)),
            'W' => Escaped::Item(ClassItem::Word(false)),
            's' => Escaped::Item(ClassItem::Space(true)),
            'S' => Escaped::Item(ClassItem::Space(false)),
            'b' if !in_class => Escaped::Boundary(true),
            'B' if !in_class => Escaped::Boundary(false),
            't' => Escaped::Char('\t'),
            'n' => Escaped::Char('\n'),
            'r' => Escaped::Char('\r'),
            'f' => Escaped::Char('\u{c}'),
            'e' => Escaped::Char('\u{1b}'),
            'a' => Escaped::Char('\u{7}'),
            'u' => {
                let hex: String = self
                    .chars
                    .get(self.pos..self.pos + 4)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                let v = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4);
                let Some(ch) = v.and_then(char::from_u32) else {
                    return Err("invalid \\u escape in regular expression".to_string());
                };
                self.pos += 4;
                Escaped::Char(ch)
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(format!("unsupported escape '\\{c}' in regular expression"));
            }
            c => Escaped::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            self.pos += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err("unclosed character class in regular expression".to_string());
            };
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            self.pos += 1;
            let lo = match c {
                '\\' => match self.escape(true)? {
                    Escaped::Char(c) => c,
                    Escaped::Item(i) => {
                        items.push(i);
                        continue;
                    }
                    Escaped::Boundary(_) => {
                        return Err("word boundary inside a character class".to_string());
                    }
                },
                '[' => return Err("nested character classes are not supported".to_string()),
                c => c,
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let Some(hc) = self.peek() else {
                    return Err("unclosed character class in regular expression".to_string());
                };
                self.pos += 1;
                let hi = if hc == '\\' {
                    match self.escape(true)? {
                        Escaped::Char(c) => c,
                        _ => return Err("invalid range in character class".to_string()),
                    }
                } else {
                    hc
                };
                if hi < lo {
                    return Err("invalid range in character class".to_string());
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Node::Class(Class { negated, items }))
    }
}

enum Escaped {
    Char(char),
    Item(ClassItem),
    Boundary(bool),
}

struct Matcher<'t> {
    text: &'t [char],
    icase: bool,
    steps: Cell<u64>,
    depth: Cell<u32>,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

impl Matcher<'_> {
    fn tick(&self) -> bool {
        let s = self.steps.get() + 1;
        self.steps.set(s);
        s <= MAX_STEPS
    }

    fn enter(&self) -> bool {
        let d = self.depth.get() + 1;
        self.depth.set(d);
        d <= MAX_DEPTH
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    fn alts(&self, alts: &[Vec<Node>], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        alts.iter().any(|seq| self.seq(seq, pos, k))
    }

    fn seq(&self, seq: &[Node], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        if !self.tick() || !self.enter() {
            self.leave();
            return false;
        }
        let r = match seq.split_first() {
            None => k(pos),
            Some((node, rest)) => self.node(node, pos, &mut |p| self.seq(rest, p, k)),
        };
        self.leave();
        r
    }

    /// Whether `node` (a single-character node) matches the character at `pos`.
    fn single(&self, node: &Node, pos: usize) -> Option<bool> {
        let c = self.text.get(pos).copied();
        Some(match node {
            Node::Char(want) => {
                c.is_some_and(|c| c == *want || (self.icase && fold(c) == fold(*want)))
            }
            Node::Any => c.is_some_and(|c| !is_line_terminator(c)),
            Node::Class(class) => c.is_some_and(|c| self.class_matches(class, c)),
            _ => return None,
        })
    }

    fn class_matches(&self, class: &Class, c: char) -> bool {
        let hit = class.items.iter().any(|item| match *item {
            ClassItem::Range(lo, hi) => {
                (lo..=hi).contains(&c)
                    || (self.icase && {
                        let f = fold(c);
                        let u = c.to_uppercase().next().unwrap_or(c);
                        (lo..=hi).contains(&f) || (lo..=hi).contains(&u)
                    })
            }
            ClassItem::Digit(pos) => c.is_ascii_digit() == pos,
            ClassItem::Word(pos) => is_word(c) == pos,
            ClassItem::Space(pos) => {
                matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r') == pos
            }
        });
        hit != class.negated
    }

    fn node(&self, node: &Node, pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        if let Some(hit) = self.single(node, pos) {
            return hit && k(pos + 1);
        }
        match node {
            Node::Start => pos == 0 && k(pos),
            Node::End => pos == self.text.len() && k(pos),
            Node::WordBoundary(want) => {
                let before = pos > 0 && self.text.get(pos - 1).is_some_and(|&c| is_word(c));
                let after = self.text.get(pos).is_some_and(|&c| is_word(c));
                ((before != after) == *want) && k(pos)
            }
            Node::Group(alts) => {
                if !self.enter() {
                    self.leave();
                    return false;
                }
                let r = self.alts(alts, pos, k);
                self.leave();
                r
            }
            Node::Repeat {
                node,
                min,
                max,
                greedy,
            } => {
                if self.single(node, pos).is_some() {
                    self.repeat_simple(node, *min, *max, *greedy, pos, k)
                } else {
                    self.repeat(node, *min, *max, *greedy, pos, 0, k)
                }
            }
            Node::Char(_) | Node::Any | Node::Class(_) => false,
        }
    }

    /// Repetition of a one-character node, done iteratively.
    fn repeat_simple(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        greedy: bool,
        pos: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let limit = max.map_or(usize::MAX, |m| m as usize);
        let mut run = 0usize;
        while run < limit && self.single(node, pos + run) == Some(true) {
            run += 1;
        }
        let min = min as usize;
        if run < min {
            return false;
        }
        if greedy {
            for n in (min..=run).rev() {
                if !self.tick() {
                    return false;
                }
                if k(pos + n) {
                    return true;
                }
            }
        } else {
            for n in min..=run {
                if !self.tick() {
                    return false;
                }
                if k(pos + n) {
                    return true;
                }
            }
        }
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &self,
        node: &Node,
        min: u32,
        max: Option<u32>,
        greedy: bool,
        pos: usize,
        count: u32,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        if !self.tick() || !self.enter() {
            self.leave();
            return false;
        }
        let r = if count < min {
            self.node(node, pos, &mut |p| {
                self.repeat(node, min, max, greedy, p, count + 1, k)
            })
        } else {
            let more = max.is_none_or(|m| count < m);
            if greedy {
                (more
                    && self.node(node, pos, &mut |p| {
                        p != pos && self.repeat(node, min, max, greedy, p, count + 1, k)
                    }))
                    || k(pos)
            } else {
                k(pos)
                    || (more
                        && self.node(node, pos, &mut |p| {
                            p != pos && self.repeat(node, min, max, greedy, p, count + 1, k)
                        }))
            }
        };
        self.leave();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p, false)
            .map(|r| r.full_match(t))
            .unwrap_or(false)
    }

    #[test]
    fn basics() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("a.c", "abc"));
        assert!(m(".*", ""));
        assert!(m("a.*c", "abbbbc"));
        assert!(m("[a-z]+", "hello"));
        assert!(!m("[a-z]+", "Hello"));
        assert!(m("[^0-9]*", "abc"));
        assert!(m("\\d{3}-\\d{4}", "555-1234"));
        assert!(m("(ab|cd)+e?", "abcdab"));
        assert!(m("(?:a|b)*c", "ababc"));
        assert!(m("a{2,3}", "aaa"));
        assert!(!m("a{2,3}", "aaaa"));
        assert!(m("^foo$", "foo"));
        assert!(m(".*\\bbar\\b.*", "foo bar baz"));
        assert!(m("a\\.b", "a.b"));
        assert!(!m("a\\.b", "axb"));
        assert!(m("(a*)*b", "aaab"));
        assert!(Regex::new("abc", true).is_ok_and(|r| r.full_match("ABC")));
        assert!(Regex::new("[a-c]+", true).is_ok_and(|r| r.full_match("AbC")));
    }

    #[test]
    fn errors_and_limits() {
        assert!(Regex::new("(abc", false).is_err());
        assert!(Regex::new("abc)", false).is_err());
        assert!(Regex::new("[abc", false).is_err());
        assert!(Regex::new("*a", false).is_err());
        assert!(Regex::new("a{3,1}", false).is_err());
        assert!(Regex::new("\\", false).is_err());
        // Catastrophic backtracking is cut off instead of hanging.
        let r = Regex::new("(a|aa)*(a|aa)*(a|aa)*b", false);
        assert!(r.is_ok_and(|r| !r.full_match(&"a".repeat(60))));
        let long = "x".repeat(100_000);
        assert!(m(".*", &long));
        assert!(!m("(x)*y", &long));
    }
}
