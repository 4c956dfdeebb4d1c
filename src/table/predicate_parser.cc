// The `--where` language as text: tokenizer, recursive-descent parser producing a Predicate, and
// the SQL spelling of literals and predicates. Binding, evaluation and pruning are in predicate.cc.
// Stateless functions over immutable values: safe to call from any thread.
#include "millpond/table/predicate.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "table/predicate_internal.h"

namespace millpond::table {
namespace {

using arrow::Status;
using internal::ColumnToSql;
using internal::DateTime;
using internal::EqualsIgnoreCase;
using internal::NodeToString;
using internal::ParseDateTime;
using internal::Quote;

// ---------------------------------------------------------------------------------------------
// Text helpers

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}

constexpr std::string_view kReserved[] = {"AND", "OR",   "NOT",  "IN",   "IS",
                                          "NULL", "TRUE", "FALSE", "BETWEEN"};

bool IsReserved(std::string_view word) {
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [&](std::string_view k) { return EqualsIgnoreCase(word, k); });
}

Status SyntaxError(int position, std::string_view message) {
  return Status::Invalid("--where: syntax error at position ", position, ": ", message);
}

bool ReadDigits(std::string_view s, size_t& i, size_t count, int64_t& out) {
  if (i + count > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < count; ++k) {
    char c = s[i + k];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  i += count;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Lexer

struct Token {
  enum class Type { kEnd, kIdent, kQuotedIdent, kString, kNumber, kOp, kLParen, kRParen, kComma,
                    kSign };
  Type type = Type::kEnd;
  std::string text;
  int position = 0;  // 1-based
};

std::string Describe(const Token& t) {
  switch (t.type) {
    case Token::Type::kEnd:
      return "end of input";
    case Token::Type::kString:
      return Quote(t.text, '\'');
    case Token::Type::kQuotedIdent:
      return Quote(t.text, '"');
    default:
      return "'" + t.text + "'";
  }
}

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    Token t;
    t.position = static_cast<int>(i) + 1;
    if (i == s.size()) {
      tokens.push_back(std::move(t));
      return tokens;
    }
    char c = s[i];
    if (c == '\'' || c == '"' || c == '`') {
      t.type = c == '\'' ? Token::Type::kString : Token::Type::kQuotedIdent;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {
            t.text += c;
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        t.text += s[i++];
      }
      if (!closed) {
        return SyntaxError(t.position, c == '\'' ? "unterminated string literal"
                                                 : "unterminated quoted column name");
      }
      if (t.type == Token::Type::kQuotedIdent && t.text.empty()) {
        return SyntaxError(t.position, "empty column name");
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      t.type = Token::Type::kNumber;
      size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      if (i < s.size() && (IsIdentChar(s[i]) || s[i] == '.')) {
        return SyntaxError(static_cast<int>(i) + 1, "malformed number");
      }
      t.text = std::string(s.substr(start, i - start));
    } else if (IsIdentStart(c)) {
      t.type = Token::Type::kIdent;
      size_t start = i;
      while (i < s.size() && IsIdentChar(s[i])) ++i;
      t.text = std::string(s.substr(start, i - start));
    } else if (c == '(' || c == ')' || c == ',') {
      t.type = c == '(' ? Token::Type::kLParen
                        : (c == ')' ? Token::Type::kRParen : Token::Type::kComma);
      t.text = std::string(1, c);
      ++i;
    } else if (c == '-' || c == '+') {
      t.type = Token::Type::kSign;
      t.text = std::string(1, c);
      ++i;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      t.type = Token::Type::kOp;
      std::string_view two = s.substr(i, 2);
      if (two == "==" || two == "!=" || two == "<>" || two == "<=" || two == ">=") {
        t.text = std::string(two);
        i += 2;
      } else if (c == '!') {
        return SyntaxError(t.position, "unexpected '!' (did you mean '!='?)");
      } else {
        t.text = std::string(1, c);
        ++i;
      }
    } else {
      return SyntaxError(t.position, "unexpected character '" + std::string(1, c) + "'");
    }
    tokens.push_back(std::move(t));
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: or := and (OR and)* ; and := not (AND not)* ; not := NOT not | primary ;
// primary := '(' or ')'
//          | operand [cmp operand | [NOT] IN (...) | [NOT] BETWEEN x AND y | IS [NOT] NULL]

struct ColumnRef {
  std::string name;
  bool quoted = false;
  int position = 0;
};
using Operand = std::variant<ColumnRef, Literal>;

std::optional<CompareOp> OpFromSymbol(std::string_view s) {
  if (s == "=" || s == "==") return CompareOp::kEq;
  if (s == "!=" || s == "<>") return CompareOp::kNe;
  if (s == "<") return CompareOp::kLt;
  if (s == "<=") return CompareOp::kLe;
  if (s == ">") return CompareOp::kGt;
  if (s == ">=") return CompareOp::kGe;
  return std::nullopt;
}

// `lit OP col` is `col Flip(OP) lit`.
CompareOp Flip(CompareOp op) {
  switch (op) {
    case CompareOp::kLt: return CompareOp::kGt;
    case CompareOp::kLe: return CompareOp::kGe;
    case CompareOp::kGt: return CompareOp::kLt;
    case CompareOp::kGe: return CompareOp::kLe;
    default: return op;
  }
}

Predicate Leaf(Predicate::Kind kind, const ColumnRef& col) {
  Predicate p;
  p.kind = kind;
  p.column = col.name;
  p.column_quoted = col.quoted;
  p.position = col.position;
  return p;
}

Predicate Compare(const ColumnRef& col, CompareOp op, Literal lit) {
  Predicate p = Leaf(Predicate::Kind::kCompare, col);
  p.op = op;
  p.literals.push_back(std::move(lit));
  return p;
}

Predicate Junction(Predicate::Kind kind, int position, std::vector<Predicate> children) {
  Predicate p;
  p.kind = kind;
  p.position = position;
  p.children = std::move(children);
  return p;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<Predicate> ParseAll() {
    if (Peek().type == Token::Type::kEnd) return SyntaxError(1, "empty filter");
    ARROW_ASSIGN_OR_RAISE(Predicate p, ParseOr());
    if (Peek().type != Token::Type::kEnd) {
      return SyntaxError(Peek().position, "unexpected " + Describe(Peek()) +
                                              (Peek().type == Token::Type::kRParen
                                                   ? " without a matching '('"
                                                   : ", expected AND, OR or end of input"));
    }
    return p;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool IsKeyword(const Token& t, std::string_view kw) const {
    return t.type == Token::Type::kIdent && EqualsIgnoreCase(t.text, kw);
  }
  bool AcceptKeyword(std::string_view kw) {
    if (!IsKeyword(Peek(), kw)) return false;
    Next();
    return true;
  }

  Result<Predicate> ParseOr() {
    int position = Peek().position;
    std::vector<Predicate> children;
    ARROW_ASSIGN_OR_RAISE(Predicate first, ParseAnd());
    children.push_back(std::move(first));
    while (IsKeyword(Peek(), "OR")) {
      position = Next().position;
      ARROW_ASSIGN_OR_RAISE(Predicate next, ParseAnd());
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children[0]);
    return Junction(Predicate::Kind::kOr, position, std::move(children));
  }

  Result<Predicate> ParseAnd() {
    int position = Peek().position;
    std::vector<Predicate> children;
    ARROW_ASSIGN_OR_RAISE(Predicate first, ParseNot());
    children.push_back(std::move(first));
    while (IsKeyword(Peek(), "AND")) {
      position = Next().position;
      ARROW_ASSIGN_OR_RAISE(Predicate next, ParseNot());
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children[0]);
    return Junction(Predicate::Kind::kAnd, position, std::move(children));
  }

  Result<Predicate> ParseNot() {
    if (IsKeyword(Peek(), "NOT")) {
      int position = Next().position;
      ARROW_ASSIGN_OR_RAISE(Predicate child, ParseNot());
      std::vector<Predicate> children;
      children.push_back(std::move(child));
      return Junction(Predicate::Kind::kNot, position, std::move(children));
    }
    return ParsePrimary();
  }

  Result<Operand> ParseOperand() {
    const Token& t = Peek();
    Literal lit;
    lit.position = t.position;
    switch (t.type) {
      case Token::Type::kQuotedIdent:
        Next();
        return ColumnRef{t.text, true, t.position};
      case Token::Type::kString:
        Next();
        lit.kind = Literal::Kind::kString;
        lit.text = t.text;
        return lit;
      case Token::Type::kNumber:
        Next();
        lit.kind = t.text.find_first_of(".eE") == std::string::npos ? Literal::Kind::kInteger
                                                                    : Literal::Kind::kDecimal;
        lit.text = t.text;
        return lit;
      case Token::Type::kSign: {
        const Token& number = Peek(1);
        if (number.type != Token::Type::kNumber) {
          return SyntaxError(number.position, "expected a number after '" + t.text + "', found " +
                                                  Describe(number));
        }
        Next();
        Next();
        lit.kind = number.text.find_first_of(".eE") == std::string::npos
                       ? Literal::Kind::kInteger
                       : Literal::Kind::kDecimal;
        lit.text = (t.text == "-" ? "-" : "") + number.text;
        return lit;
      }
      case Token::Type::kIdent: {
        if (IsKeyword(t, "NULL") || IsKeyword(t, "TRUE") || IsKeyword(t, "FALSE")) {
          Next();
          lit.kind = IsKeyword(t, "NULL") ? Literal::Kind::kNull : Literal::Kind::kBool;
          lit.text = IsKeyword(t, "NULL") ? "NULL" : (IsKeyword(t, "TRUE") ? "TRUE" : "FALSE");
          return lit;
        }
        bool is_date = IsKeyword(t, "DATE");
        if ((is_date || IsKeyword(t, "TIMESTAMP")) && Peek(1).type == Token::Type::kString) {
          Next();
          const Token& value = Next();
          std::optional<DateTime> dt = ParseDateTime(value.text);
          if (!dt || (is_date && dt->has_time)) {
            return SyntaxError(value.position,
                               std::string("invalid ") + (is_date ? "DATE" : "TIMESTAMP") +
                                   " literal " + Quote(value.text, '\'') +
                                   (is_date ? " (expected YYYY-MM-DD)"
                                            : " (expected YYYY-MM-DD HH:MM:SS[.ffffff])"));
          }
          lit.kind = is_date ? Literal::Kind::kDate : Literal::Kind::kTimestamp;
          lit.text = value.text;
          return lit;
        }
        if (IsReserved(t.text)) {
          return SyntaxError(t.position, "expected a column or value, found keyword " +
                                             Describe(t) + " (quote a column with this name)");
        }
        Next();
        return ColumnRef{t.text, false, t.position};
      }
      default:
        return SyntaxError(t.position, "expected a column or value, found " + Describe(t));
    }
  }

  Result<Literal> ParseLiteral(std::string_view context) {
    int position = Peek().position;
    ARROW_ASSIGN_OR_RAISE(Operand op, ParseOperand());
    if (auto* col = std::get_if<ColumnRef>(&op)) {
      return SyntaxError(position, "expected a value " + std::string(context) + ", found column " +
                                       ColumnToSql(col->name));
    }
    return std::get<Literal>(std::move(op));
  }

  Result<ColumnRef> RequireColumn(const Operand& lhs, std::string_view what) {
    if (auto* col = std::get_if<ColumnRef>(&lhs)) return *col;
    const Literal& lit = std::get<Literal>(lhs);
    return SyntaxError(lit.position, "expected a column before " + std::string(what) + ", found " +
                                         lit.ToString());
  }

  Result<Predicate> ParsePrimary() {
    if (Peek().type == Token::Type::kLParen) {
      const Token& open = Next();
      ARROW_ASSIGN_OR_RAISE(Predicate inner, ParseOr());
      if (Peek().type != Token::Type::kRParen) {
        return SyntaxError(Peek().position, "expected ')' to close the '(' at position " +
                                                std::to_string(open.position) + ", found " +
                                                Describe(Peek()));
      }
      Next();
      return inner;
    }
    ARROW_ASSIGN_OR_RAISE(Operand lhs, ParseOperand());
    const Token& t = Peek();
    if (t.type == Token::Type::kOp) {
      CompareOp op = *OpFromSymbol(t.text);
      Next();
      ARROW_ASSIGN_OR_RAISE(Operand rhs, ParseOperand());
      auto* lcol = std::get_if<ColumnRef>(&lhs);
      auto* rcol = std::get_if<ColumnRef>(&rhs);
      if (lcol && rcol) {
        return SyntaxError(t.position, "comparing two columns (" + ColumnToSql(lcol->name) + " " +
                                           t.text + " " + ColumnToSql(rcol->name) +
                                           ") is not supported; compare a column with a value");
      }
      if (lcol) return Compare(*lcol, op, std::get<Literal>(std::move(rhs)));
      if (rcol) return Compare(*rcol, Flip(op), std::get<Literal>(std::move(lhs)));
      return SyntaxError(std::get<Literal>(lhs).position,
                         "a comparison needs a column on one side, found two values");
    }
    if (IsKeyword(t, "IS")) {
      ARROW_ASSIGN_OR_RAISE(ColumnRef col, RequireColumn(lhs, "IS"));
      Next();
      bool negated = AcceptKeyword("NOT");
      if (!AcceptKeyword("NULL")) {
        return SyntaxError(Peek().position, std::string("expected NULL after IS") +
                                                (negated ? " NOT" : "") + ", found " +
                                                Describe(Peek()));
      }
      return Leaf(negated ? Predicate::Kind::kIsNotNull : Predicate::Kind::kIsNull, col);
    }
    bool negated = false;
    int not_position = t.position;
    if (IsKeyword(t, "NOT") && (IsKeyword(Peek(1), "IN") || IsKeyword(Peek(1), "BETWEEN"))) {
      negated = true;
      Next();
    }
    std::optional<Predicate> result;
    if (IsKeyword(Peek(), "IN")) {
      ARROW_ASSIGN_OR_RAISE(ColumnRef col, RequireColumn(lhs, "IN"));
      Next();
      if (Peek().type != Token::Type::kLParen) {
        return SyntaxError(Peek().position, "expected '(' after IN, found " + Describe(Peek()));
      }
      Next();
      Predicate in = Leaf(Predicate::Kind::kIn, col);
      while (true) {
        ARROW_ASSIGN_OR_RAISE(Literal lit, ParseLiteral("in the IN list"));
        in.literals.push_back(std::move(lit));
        if (Peek().type == Token::Type::kComma) {
          Next();
          continue;
        }
        if (Peek().type == Token::Type::kRParen) {
          Next();
          break;
        }
        return SyntaxError(Peek().position,
                           "expected ',' or ')' in the IN list, found " + Describe(Peek()));
      }
      result = std::move(in);
    } else if (IsKeyword(Peek(), "BETWEEN")) {
      ARROW_ASSIGN_OR_RAISE(ColumnRef col, RequireColumn(lhs, "BETWEEN"));
      int position = Next().position;
      ARROW_ASSIGN_OR_RAISE(Literal low, ParseLiteral("after BETWEEN"));
      if (!AcceptKeyword("AND")) {
        return SyntaxError(Peek().position,
                           "expected AND in BETWEEN ... AND ..., found " + Describe(Peek()));
      }
      ARROW_ASSIGN_OR_RAISE(Literal high, ParseLiteral("after BETWEEN ... AND"));
      std::vector<Predicate> bounds;
      bounds.push_back(Compare(col, CompareOp::kGe, std::move(low)));
      bounds.push_back(Compare(col, CompareOp::kLe, std::move(high)));
      result = Junction(Predicate::Kind::kAnd, position, std::move(bounds));
    }
    if (result) {
      if (!negated) return std::move(*result);
      std::vector<Predicate> children;
      children.push_back(std::move(*result));
      return Junction(Predicate::Kind::kNot, not_position, std::move(children));
    }
    // A bare column is a boolean test: `--where ok` means `ok = TRUE`.
    const Token& after = Peek();
    auto* col = std::get_if<ColumnRef>(&lhs);
    if (col && (after.type == Token::Type::kEnd || after.type == Token::Type::kRParen ||
                IsKeyword(after, "AND") || IsKeyword(after, "OR"))) {
      Literal lit;
      lit.kind = Literal::Kind::kBool;
      lit.text = "TRUE";
      lit.position = col->position;
      lit.implicit = true;
      return Compare(*col, CompareOp::kEq, std::move(lit));
    }
    std::string subject = col ? "column " + ColumnToSql(col->name)
                              : std::get<Literal>(lhs).ToString();
    return SyntaxError(after.position, "expected a comparison, IN, BETWEEN or IS after " +
                                           subject + ", found " + Describe(after));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared with predicate.cc through predicate_internal.h

namespace internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string Quote(std::string_view s, char q) {
  std::string out(1, q);
  for (char c : s) {
    out += c;
    if (c == q) out += q;
  }
  out += q;
  return out;
}

std::string ColumnToSql(const std::string& name) {
  bool plain = !name.empty() && IsIdentStart(name[0]) && !IsReserved(name) &&
               std::all_of(name.begin(), name.end(), IsIdentChar);
  return plain ? name : Quote(name, '"');
}

// YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z]
std::optional<DateTime> ParseDateTime(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  DateTime dt;
  size_t i = 0;
  int64_t y, mo, d;
  if (!ReadDigits(s, i, 4, y) || i >= s.size() || s[i++] != '-' || !ReadDigits(s, i, 2, mo) ||
      i >= s.size() || s[i++] != '-' || !ReadDigits(s, i, 2, d)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)),
                                  std::chrono::month(static_cast<unsigned>(mo)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  dt.days = std::chrono::sys_days(ymd).time_since_epoch().count();
  if (i < s.size() && (s[i] == ' ' || s[i] == 'T')) {
    ++i;
    int64_t h, mi, sec = 0;
    if (!ReadDigits(s, i, 2, h) || i >= s.size() || s[i++] != ':' || !ReadDigits(s, i, 2, mi)) {
      return std::nullopt;
    }
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!ReadDigits(s, i, 2, sec)) return std::nullopt;
      if (i < s.size() && s[i] == '.') {
        ++i;
        size_t digits = 0;
        int64_t frac = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
          if (++digits > 9) return std::nullopt;
          frac = frac * 10 + (s[i++] - '0');
        }
        if (digits == 0) return std::nullopt;
        for (size_t k = digits; k < 9; ++k) frac *= 10;
        dt.nanos = frac;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
    dt.second_of_day = h * 3600 + mi * 60 + sec;
    dt.has_time = true;
  }
  if (i < s.size() && s[i] == 'Z') ++i;
  if (i != s.size()) return std::nullopt;
  return dt;
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// Public API

std::string_view CompareOpSymbol(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "?";
}

std::string Literal::ToString() const {
  switch (kind) {
    case Kind::kNull: return "NULL";
    case Kind::kString: return Quote(text, '\'');
    case Kind::kDate: return "DATE " + Quote(text, '\'');
    case Kind::kTimestamp: return "TIMESTAMP " + Quote(text, '\'');
    default: return text;
  }
}

std::string Predicate::ToString() const {
  return NodeToString(*this, [](const Predicate& p, size_t i) {
    return i < p.literals.size() ? p.literals[i].ToString() : std::string("?");
  });
}

Result<Predicate> ParsePredicate(std::string_view text) {
  ARROW_ASSIGN_OR_RAISE(std::vector<Token> tokens, Tokenize(text));
  return Parser(std::move(tokens)).ParseAll();
}

}  // namespace millpond::table
