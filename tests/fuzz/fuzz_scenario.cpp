// libFuzzer target: the scenario loader (tl::parseScenario, engine/scenario.h: JSON, keys, panels and
// their declared parameters). Any input is refused with a tl::Error (see TL_FUZZ_STRICT below), or
// gives a scenario that tl::scenarioToJson writes and parseScenario reads back to the same JSON.
// Measures are not sampled (fuzz_spec does that); relative paths resolve in a folder that does not exist.
//
// Error messages: by the contract of util/quote.h every tl::Error message is one printable line. The
// CLI and GUI print scenario errors through tl::oneLine, which makes any message one line; raw user
// text in the scenario loader's messages (keys, JSON parser details) is reported as a defect only when
// the environment has TL_FUZZ_STRICT=1 (see docs/sanitizers.md).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/scenario.h"
#include "fuzz_common.h"
#include "util/error.h"

namespace {
bool strict() {
    static const bool s = [] {
        const char* v = std::getenv("TL_FUZZ_STRICT");
        return v && *v == '1';
    }();
    return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    tl::Scenario s;
    try {
        s = tl::parseScenario(text, "/nonexistent/fuzz", "fuzz.json");
    } catch (const tl::Error& e) {
        if (strict()) tl::fuzz::checkMessage("scenario", e);
        else tl::fuzz::require(tl::fuzz::isOneLine(tl::oneLine(e.what())), "scenario: message empty");
        return 0;
    }
    using tl::fuzz::require;
    require(!s.panels.empty() && s.panels.size() <= static_cast<std::size_t>(tl::kMaxPanels), "scenario: panel count");
    require(s.frames >= 2 && s.frames <= 10000, "scenario: frames out of range");
    require(!s.source.empty(), "scenario: no source");
    const auto times = s.times();
    require(times.size() == static_cast<std::size_t>(s.frames), "scenario: times() size != frames");
    std::string json;
    try {
        json = tl::scenarioToJson(s);
    } catch (const std::exception& e) {  // e.g. nlohmann's type_error 316 on invalid UTF-8
        tl::fuzz::fail("scenario: scenarioToJson threw on a scenario parseScenario accepted", e.what());
    }
    tl::Scenario again;
    try {
        again = tl::parseScenario(json, "/nonexistent/fuzz", "fuzz.json");
    } catch (const tl::Error& e) {
        tl::fuzz::fail("scenario: scenarioToJson output refused by parseScenario", std::string(e.what()) + " | " + json);
    }
    require(tl::scenarioToJson(again) == json, "scenario: round trip changed the scenario", json);
    return 0;
}
