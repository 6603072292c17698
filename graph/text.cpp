// Text form of graphs (print, parse) and the whole-graph verifier (see text.h).
#include "graph/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "base/error.h"
#include "graph/infer.h"

namespace pg {
namespace {

std::string type_str(DType t, const Shape& s) {
    return fmt::format("{}{}", dtype_name(t), shape_str(s));
}

std::string quote(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
        switch (c) {
            case '"':
                q += "\\\"";
                break;
            case '\\':
                q += "\\\\";
                break;
            case '\n':
                q += "\\n";
                break;
            case '\t':
                q += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    q += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
                else
                    q += c;
        }
    }
    return q + "\"";
}

std::string node_line(const Node& n, NodeId id) {
    std::string s = fmt::format("%{} = {} {}", id, op_name(n.op), type_str(n.dtype, n.shape));
    if (!n.inputs.empty()) {
        s += " (";
        for (size_t i = 0; i < n.inputs.size(); ++i)
            s += fmt::format("{}%{}", i ? ", " : "", n.inputs[i]);
        s += ")";
    }
    if (!n.ints.empty()) s += fmt::format(" ints=[{}]", fmt::join(n.ints, ","));
    // fmt's default double format is the shortest text that parses back to the same value.
    if (n.scalar != 0.0 || std::signbit(n.scalar)) s += fmt::format(" scalar={}", n.scalar);
    if (!n.name.empty()) s += " name=" + quote(n.name);
    return s;
}

// Tokenizer over one line of the text form; every error names the line.
class LineParser {
  public:
    LineParser(std::string_view text, int line) : s_(text), line_(line) {}

    [[noreturn]] void fail(const std::string& msg) const {
        throw Error(fmt::format("line {}: {}", line_, msg));
    }

    bool done() {
        skip_ws();
        return pos_ == s_.size();
    }
    char peek() {
        skip_ws();
        return pos_ < s_.size() ? s_[pos_] : '\0';
    }
    bool accept(std::string_view tok) {
        skip_ws();
        if (s_.substr(pos_, tok.size()) != tok) return false;
        pos_ += tok.size();
        return true;
    }
    void expect(std::string_view tok) {
        if (!accept(tok)) fail(fmt::format("expected '{}' at '{}'", tok, rest()));
    }
    void expect_end() {
        if (!done()) fail(fmt::format("unexpected '{}' at the end of the line", rest()));
    }

    std::string_view word() {
        skip_ws();
        size_t start = pos_;
        while (pos_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
            ++pos_;
        if (start == pos_) fail(fmt::format("expected a name at '{}'", rest()));
        return s_.substr(start, pos_ - start);
    }

    int64_t integer() {
        skip_ws();
        int64_t v = 0;
        auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
        if (ec != std::errc()) fail(fmt::format("expected an integer at '{}'", rest()));
        pos_ = static_cast<size_t>(end - s_.data());
        return v;
    }

    double number() {
        skip_ws();
        size_t start = pos_;
        while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
        std::string_view tok = s_.substr(start, pos_ - start);
        double v = 0;
        auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
        if (ec != std::errc() || end != tok.data() + tok.size())
            fail(fmt::format("'{}' is not a number", tok));
        return v;
    }

    int64_t ref() {
        expect("%");
        if (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
            fail("expected a node id after '%'");
        return integer();
    }

    std::vector<int64_t> int_list() {
        expect("[");
        std::vector<int64_t> v;
        if (accept("]")) return v;
        do {
            v.push_back(integer());
        } while (accept(","));
        expect("]");
        return v;
    }

    std::string quoted() {
        expect("\"");
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            char c = s_[pos_++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ == s_.size()) break;
            char e = s_[pos_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'x': {
                    unsigned v = 0;
                    auto [end, ec] = std::from_chars(
                        s_.data() + pos_, s_.data() + std::min(pos_ + 2, s_.size()), v, 16);
                    if (ec != std::errc() || end != s_.data() + pos_ + 2)
                        fail("bad \\x escape in a quoted name");
                    pos_ += 2;
                    out += static_cast<char>(v);
                    break;
                }
                default:
                    fail(fmt::format("unknown escape '\\{}' in a quoted name", e));
            }
        }
        if (pos_ == s_.size()) fail("unterminated quoted name");
        ++pos_;
        return out;
    }

  private:
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    std::string_view rest() const { return s_.substr(pos_); }

    std::string_view s_;
    size_t pos_ = 0;
    int line_;
};

// Builds a graph line by line; text node ids map to ids in the rebuilt graph.
class GraphParser {
  public:
    void line(std::string_view text, int number) {
        LineParser p(text, number);
        if (p.done() || p.peek() == '#') return;
        if (p.peek() == '%') return node(p);
        std::string_view kw = p.word();
        if (kw == "output") {
            std::string name = p.quoted();
            NodeId id = lookup(p, p.ref());
            p.expect_end();
            g_.set_output(name, id);
        } else if (kw == "update") {
            NodeId state = lookup(p, p.ref());
            p.expect("<-");
            NodeId value = lookup(p, p.ref());
            UpdateCollective collective = UpdateCollective::None;
            int root = 0;
            if (p.accept("all_reduce_avg")) {
                collective = UpdateCollective::AllReduceAvg;
            } else if (p.accept("broadcast_from")) {
                collective = UpdateCollective::Broadcast;
                root = static_cast<int>(p.integer());
            } else if (p.accept("reduce_scatter_avg")) {
                collective = UpdateCollective::ReduceScatterAvg;
            } else if (p.accept("all_gather")) {
                collective = UpdateCollective::AllGather;
            }
            p.expect_end();
            try {
                g_.add_update(state, value, collective, root);
            } catch (const Error& e) {
                p.fail(e.what());
            }
        } else {
            p.fail(
                fmt::format("expected a node (%N = ...), 'output' or 'update' line, got '{}'", kw));
        }
    }

    Graph take() { return std::move(g_); }

  private:
    NodeId lookup(const LineParser& p, int64_t text_id) const {
        auto it = ids_.find(text_id);
        if (it == ids_.end()) p.fail(fmt::format("%{} is used before it is defined", text_id));
        return it->second;
    }

    void node(LineParser& p) {
        int64_t text_id = p.ref();
        if (ids_.count(text_id)) p.fail(fmt::format("%{} is defined twice", text_id));
        p.expect("=");
        Node n;
        try {
            n.op = parse_op(p.word());
            n.dtype = parse_dtype(p.word());
        } catch (const Error& e) {
            p.fail(e.what());
        }
        n.shape = p.int_list();
        DType printed_dtype = n.dtype;
        Shape printed_shape = n.shape;
        if (p.accept("(")) {
            if (!p.accept(")")) {
                do {
                    n.inputs.push_back(lookup(p, p.ref()));
                } while (p.accept(","));
                p.expect(")");
            }
        }
        attributes(p, n);
        NodeId id = kNoNode;
        try {
            id = g_.add(n);
        } catch (const Error& e) {
            p.fail(fmt::format("%{}: {}", text_id, e.what()));
        }
        const Node& added = g_[id];
        if (added.dtype != printed_dtype || added.shape != printed_shape)
            p.fail(fmt::format("%{}: the printed type {} differs from the inferred type {}",
                               text_id, type_str(printed_dtype, printed_shape),
                               type_str(added.dtype, added.shape)));
        ids_[text_id] = id;
    }

    static void attributes(LineParser& p, Node& n) {
        bool seen_ints = false, seen_scalar = false, seen_name = false;
        auto once = [&p](bool& seen, std::string_view key) {
            if (seen) p.fail(fmt::format("attribute '{}' is given twice", key));
            seen = true;
        };
        while (!p.done()) {
            std::string_view key = p.word();
            p.expect("=");
            if (key == "ints") {
                once(seen_ints, key);
                n.ints = p.int_list();
            } else if (key == "scalar") {
                once(seen_scalar, key);
                n.scalar = p.number();
            } else if (key == "name") {
                once(seen_name, key);
                n.name = p.quoted();
            } else {
                p.fail(fmt::format("unknown attribute '{}' (expected ints, scalar or name)", key));
            }
        }
    }

    Graph g_;
    std::unordered_map<int64_t, NodeId> ids_;
};

}  // namespace

std::string print(const Graph& g) {
    std::string s;
    for (NodeId i = 0; i < g.size(); ++i) s += node_line(g[i], i) + "\n";
    for (const Output& o : g.outputs()) s += fmt::format("output {} %{}\n", quote(o.name), o.id);
    for (const StateUpdate& u : g.updates())
        s += fmt::format("update %{} <- %{}{}\n", u.state, u.value,
                         u.collective == UpdateCollective::AllReduceAvg       ? " all_reduce_avg"
                         : u.collective == UpdateCollective::Broadcast        ? fmt::format(" broadcast_from {}", u.root)
                         : u.collective == UpdateCollective::ReduceScatterAvg ? " reduce_scatter_avg"
                         : u.collective == UpdateCollective::AllGather        ? " all_gather"
                                                                              : "");
    return s;
}

Graph parse(const std::string& text) {
    GraphParser parser;
    std::string_view rest = text;
    int number = 1;
    while (!rest.empty()) {
        size_t end = rest.find('\n');
        parser.line(rest.substr(0, end), number++);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return parser.take();
}

void verify(const Graph& g, const char* after_pass, bool primitive_only) {
    std::string_view pass = after_pass ? after_pass : "(unnamed pass)";
    auto fail = [&](const std::string& msg) {
        throw InternalError(fmt::format("graph verification after {} failed: {}", pass, msg));
    };
    auto valid = [&](NodeId id) { return id >= 0 && id < g.size(); };
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        for (NodeId in : n.inputs)
            if (in < 0 || in >= i)
                fail(fmt::format("%{} ({}) uses %{}, which does not precede it", i, op_name(n.op),
                                 in));
        if (primitive_only && op_kind(n.op) == OpKind::Composite)
            fail(fmt::format("%{} is the composite op {}, but only primitive ops may remain", i,
                             op_name(n.op)));
        Node c = n;
        try {
            infer_node(g, c);
        } catch (const std::exception& e) {
            fail(fmt::format("%{} ({}) does not type-check: {}", i, op_name(n.op), e.what()));
        }
        if (c.shape != n.shape || c.dtype != n.dtype)
            fail(fmt::format("%{} ({}) has type {} but its inputs give {}", i, op_name(n.op),
                             type_str(n.dtype, n.shape), type_str(c.dtype, c.shape)));
    }
    for (const Output& o : g.outputs())
        if (!valid(o.id))
            fail(fmt::format("output '{}' refers to %{}, outside the graph", o.name, o.id));
    for (const StateUpdate& u : g.updates()) {
        if (!valid(u.state) || !valid(u.value))
            fail(fmt::format("update %{} <- %{} refers outside the graph", u.state, u.value));
        const Node& s = g[u.state];
        const Node& v = g[u.value];
        if (s.op != Op::Param)
            fail(fmt::format("update target %{} is a {}, not a param", u.state, op_name(s.op)));
        if (!update_types_match(s, v, u.collective))
            fail(fmt::format("update of '{}' {} with %{} of type {}", s.name,
                             type_str(s.dtype, s.shape), u.value, type_str(v.dtype, v.shape)));
    }
}

}  // namespace pg
