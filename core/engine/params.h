// Parameters declared once (name, type, default, range, choices, help): the declaration drives
// the scenario JSON keys and their validation, the defaults in the docs, and the GUI form.
#pragma once
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace tl {

enum class ParamType { Real, Integer, Choice, Boolean, Text };  // Text: free text (e.g. a matrix "1;0;0;1"), checked by the dynamics

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::Real;
    std::string defaultValue;          // as written in JSON ("0.01", "100", "rk4", "false")
    double min = 0, max = 0;           // Real / Integer (inclusive)
    std::vector<std::string> choices;  // Choice; an entry "kind:PATH" accepts "kind:" + any path
    std::string help;
    // When the key matters, from the other keys: "key=a|b" or "key!=a", several joined by ";" (all must
    // hold); empty = always. Forms hide the key otherwise (its value is kept and still validated).
    std::string appliesWhen = {};
};

using ParamValue = std::variant<double, long long, std::string, bool>;

// Validated values for every declared parameter (defaults filled in).
class ParamValues {
public:
    double real(const std::string& name) const;
    long long integer(const std::string& name) const;
    const std::string& choice(const std::string& name) const;
    const std::string& text(const std::string& name) const { return choice(name); }
    bool flag(const std::string& name) const;
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    void set(const std::string& name, ParamValue v) { values_[name] = std::move(v); }
    const std::map<std::string, ParamValue>& all() const { return values_; }
    bool operator==(const ParamValues& o) const { return values_ == o.values_; }

private:
    const ParamValue& at(const std::string& name) const;
    std::map<std::string, ParamValue> values_;
};

// Defaults of every spec.
ParamValues defaultParams(const std::vector<ParamSpec>& specs);
// Checks one value against its spec; throws tl::Error naming `context` and the key.
ParamValue checkParam(const ParamSpec& spec, const ParamValue& v, const std::string& context);
// The value as JSON-ish text (for docs and messages).
std::string paramText(const ParamValue& v);
// True when spec's appliesWhen holds for these values (unknown keys in the condition: true).
bool paramApplies(const ParamSpec& spec, const ParamValues& values);
// The condition in words ("only when method = sinkhorn"), "" when it always applies.
std::string appliesWhenText(const ParamSpec& spec);
// Markdown table of specs (docs are generated from the declarations).
std::string paramsMarkdown(const std::vector<ParamSpec>& specs);

}  // namespace tl
