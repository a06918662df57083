// SPEC strings (a contract): a path to a .csv file, or KIND[:key=value[,key=value]...] with list
// values separated by ';'. Every generator kind and its keys is declared once, in generators().
#pragma once
#include <map>
#include <string>
#include <vector>

#include "measure/measure.h"
#include "measure/point_cloud.h"

namespace tl {

// One declared key of a generator: drives parsing, validation, defaults and the docs.
struct SpecKey {
    std::string name;
    std::string defaultValue;  // "" = required (or inferred, as the help says)
    std::string help;
};

// Parsed, defaulted key=value arguments of one SPEC, with typed, validated accessors.
class SpecArgs {
public:
    SpecArgs(std::string kind, std::map<std::string, std::string> values, std::string baseDir)
        : kind_(std::move(kind)), values_(std::move(values)), baseDir_(std::move(baseDir)) {}
    const std::string& kind() const { return kind_; }
    const std::string& baseDir() const { return baseDir_; }
    bool has(const std::string& key) const;
    std::string text(const std::string& key) const;
    double real(const std::string& key, double lo, double hi) const;
    long long integer(const std::string& key, long long lo, long long hi) const;
    std::vector<double> list(const std::string& key) const;

private:
    [[noreturn]] void fail(const std::string& key, const std::string& why) const;
    std::string kind_;
    std::map<std::string, std::string> values_;
    std::string baseDir_;
};

struct GeneratorKind {
    std::string name;
    std::string help;
    std::vector<SpecKey> keys;  // n and seed included
    Measure (*make)(const SpecArgs&);  // samples, and the law when it is a Gaussian (mixture)
};

// All generator kinds, in documentation order.
const std::vector<GeneratorKind>& generators();

// Builds the measure a SPEC describes. Relative paths (CSV, images) resolve against baseDir.
// Throws tl::Error naming the kind and key on any problem.
PointCloud measureFromSpec(const std::string& spec, const std::string& baseDir = "");
// The same samples, with the law of gaussian / gmm / eight-gaussians SPECs.
Measure sampleMeasure(const std::string& spec, const std::string& baseDir = "");

// The generator kind a SPEC names ("" for a CSV path) and, if `values` is given, every key's value
// (defaults filled in) as text. Throws tl::Error like sampleMeasure on a malformed SPEC.
std::string specKind(const std::string& spec, std::map<std::string, std::string>* values = nullptr);

// Markdown reference of every kind and key (the docs are generated from this).
std::string specReferenceMarkdown();

}  // namespace tl
