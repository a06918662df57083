#include "engine/params.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "measure/csv.h"
#include "util/error.h"
#include "util/quote.h"

namespace tl {

const ParamValue& ParamValues::at(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw Error("internal: parameter '" + name + "' is not declared");
    return it->second;
}

double ParamValues::real(const std::string& name) const {
    const auto& v = at(name);
    if (auto p = std::get_if<double>(&v)) return *p;
    if (auto p = std::get_if<long long>(&v)) return static_cast<double>(*p);
    throw Error("internal: parameter '" + name + "' is not a number");
}

long long ParamValues::integer(const std::string& name) const {
    const auto& v = at(name);
    if (auto p = std::get_if<long long>(&v)) return *p;
    throw Error("internal: parameter '" + name + "' is not an integer");
}

const std::string& ParamValues::choice(const std::string& name) const {
    const auto& v = at(name);
    if (auto p = std::get_if<std::string>(&v)) return *p;
    throw Error("internal: parameter '" + name + "' is not a choice");
}

bool ParamValues::flag(const std::string& name) const {
    const auto& v = at(name);
    if (auto p = std::get_if<bool>(&v)) return *p;
    throw Error("internal: parameter '" + name + "' is not a boolean");
}

std::string paramText(const ParamValue& v) {
    if (auto p = std::get_if<double>(&v)) {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, *p);
        return std::string(buf, r.ptr);
    }
    if (auto p = std::get_if<long long>(&v)) return std::to_string(*p);
    if (auto p = std::get_if<std::string>(&v)) return *p;
    return std::get<bool>(v) ? "true" : "false";
}

ParamValue checkParam(const ParamSpec& spec, const ParamValue& v, const std::string& context) {
    auto fail = [&](const std::string& why) { return Error(context + ": key '" + spec.name + "' " + why); };
    std::ostringstream range;
    range << "[" << spec.min << ", " << spec.max << "]";
    switch (spec.type) {
        case ParamType::Real: {
            double x;
            if (auto p = std::get_if<double>(&v)) x = *p;
            else if (auto q = std::get_if<long long>(&v)) x = static_cast<double>(*q);
            else throw fail("must be a number");
            if (!std::isfinite(x)) throw fail("must be finite");
            if (x < spec.min || x > spec.max) throw fail("must be in " + range.str() + " (got " + paramText(x) + ")");
            return x;
        }
        case ParamType::Integer: {
            long long x;
            if (auto q = std::get_if<long long>(&v)) x = *q;
            else if (auto p = std::get_if<double>(&v); p && std::isfinite(*p) && *p == std::floor(*p) && std::abs(*p) < 9e15)
                x = static_cast<long long>(*p);
            else throw fail("must be an integer");
            if (static_cast<double>(x) < spec.min || static_cast<double>(x) > spec.max)
                throw fail("must be in " + range.str() + " (got " + std::to_string(x) + ")");
            return x;
        }
        case ParamType::Choice: {
            auto p = std::get_if<std::string>(&v);
            std::string known;
            for (const auto& c : spec.choices) known += (known.empty() ? "" : ", ") + c;
            if (!p) throw fail("must be one of " + known);
            for (const auto& c : spec.choices) {
                if (c == *p) return *p;
                // An open choice "kind:PATH" accepts "kind:" followed by any text (a file path).
                if (c.ends_with(":PATH") && p->starts_with(c.substr(0, c.size() - 4))) {
                    const std::size_t prefix = c.size() - 4;
                    if (p->size() == prefix) throw fail("needs a path after '" + c.substr(0, prefix) + "'");
                    if (p->size() > 4096) throw fail("is longer than 4096 characters");
                    for (unsigned char ch : *p)
                        if (ch < 0x20 || ch == 0x7f) throw fail("contains a control character");
                    return *p;
                }
            }
            throw fail("must be one of " + known + " (got " + tl::quoted(*p) + ")");
        }
        case ParamType::Boolean: {
            if (auto p = std::get_if<bool>(&v)) return *p;
            throw fail("must be true or false");
        }
        case ParamType::Text: {
            auto p = std::get_if<std::string>(&v);
            if (!p) throw fail("must be a string");
            if (p->size() > 4096) throw fail("is longer than 4096 characters");
            for (unsigned char ch : *p)
                if (ch < 0x20 || ch == 0x7f) throw fail("contains a control character");
            return *p;
        }
    }
    return v;
}

ParamValues defaultParams(const std::vector<ParamSpec>& specs) {
    ParamValues pv;
    for (const auto& s : specs) {
        ParamValue v;
        switch (s.type) {
            case ParamType::Real: {
                double x = 0;
                parseNumber(s.defaultValue, x);
                v = x;
                break;
            }
            case ParamType::Integer: {
                double x = 0;
                parseNumber(s.defaultValue, x);
                v = static_cast<long long>(x);
                break;
            }
            case ParamType::Choice: v = s.defaultValue; break;
            case ParamType::Boolean: v = (s.defaultValue == "true"); break;
            case ParamType::Text: v = s.defaultValue; break;
        }
        pv.set(s.name, v);
    }
    return pv;
}

namespace {

struct Condition {
    std::string key;
    bool negated = false;
    std::vector<std::string> values;
};

std::vector<Condition> parseCondition(const std::string& text) {
    std::vector<Condition> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = std::min(text.find(';', start), text.size());
        const std::string part = text.substr(start, end - start);
        start = end + 1;
        const std::size_t eq = part.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        Condition c;
        c.negated = part[eq - 1] == '!';
        c.key = part.substr(0, c.negated ? eq - 1 : eq);
        std::size_t v = eq + 1;
        while (v <= part.size()) {
            const std::size_t bar = std::min(part.find('|', v), part.size());
            c.values.push_back(part.substr(v, bar - v));
            v = bar + 1;
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

bool paramApplies(const ParamSpec& spec, const ParamValues& values) {
    for (const Condition& c : parseCondition(spec.appliesWhen)) {
        if (!values.has(c.key)) continue;
        const std::string v = paramText(values.all().at(c.key));
        bool in = false;
        for (const auto& x : c.values) in = in || x == v || ("\"" + x + "\"") == v;
        if (in == c.negated) return false;
    }
    return true;
}

std::string appliesWhenText(const ParamSpec& spec) {
    const auto conds = parseCondition(spec.appliesWhen);
    if (conds.empty()) return "";
    std::string s = "only when ";
    for (std::size_t k = 0; k < conds.size(); ++k) {
        if (k) s += " and ";
        s += conds[k].key + (conds[k].negated ? " is not " : " = ");
        for (std::size_t j = 0; j < conds[k].values.size(); ++j) s += (j ? " or " : "") + conds[k].values[j];
    }
    return s;
}

std::string paramsMarkdown(const std::vector<ParamSpec>& specs) {
    std::ostringstream os;
    os << "| key | type | default | range / choices | meaning |\n|---|---|---|---|---|\n";
    for (const auto& s : specs) {
        os << "| `" << s.name << "` | ";
        switch (s.type) {
            case ParamType::Real: os << "number | `" << s.defaultValue << "` | " << s.min << " … " << s.max; break;
            case ParamType::Integer: os << "integer | `" << s.defaultValue << "` | " << s.min << " … " << s.max; break;
            case ParamType::Choice: {
                os << "choice | `" << s.defaultValue << "` | ";
                for (std::size_t k = 0; k < s.choices.size(); ++k) os << (k ? ", " : "") << "`" << s.choices[k] << "`";
                break;
            }
            case ParamType::Boolean: os << "boolean | `" << s.defaultValue << "` | true, false"; break;
            case ParamType::Text: os << "text | " << (s.defaultValue.empty() ? "—" : "`" + s.defaultValue + "`") << " | "; break;
        }
        const std::string when = appliesWhenText(s);
        os << " | " << s.help << (when.empty() ? "" : " (" + when + ")") << " |\n";
    }
    return os.str();
}

}  // namespace tl
