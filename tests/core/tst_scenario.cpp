// Tests the scenario file contract (core/engine/scenario.h): parsing of the documented example with
// its defaults, the scenarioToJson -> parseScenario round trip, every preset in resources/scenarios,
// one-line errors that name the document and the offending key, and relative CSV paths resolved
// against the scenario's folder (through sampleMeasure and through the Runner).
#include "engine/dynamics.h"
#include "engine/runner.h"
#include "engine/metrics.h"
#include "engine/scenario.h"
#include "measure/csv.h"
#include "measure/spec.h"
#include "util/error.h"

#include <QtTest>

#include "test_support.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

namespace {

using namespace tltest;  // the helpers of tests/common

const char* kExample = R"({
  "source": "gaussian:n=2000,seed=1",
  "target": "moons:n=2000,seed=2",
  "frames": 61,
  "panels": [
    {"dynamics": "ot-displacement", "method": "exact"},
    {"dynamics": "flow-matching", "field": "closed-form", "integrator": "rk4", "steps": 100},
    {"dynamics": "diffusion", "sampler": "ode", "steps": 200}
  ]
})";

// A valid scenario with `extra` spliced into the top-level object / the first panel.
std::string withTop(const std::string& extra) {
    return R"({"source": "gaussian:n=10", "target": "moons:n=10", "panels": [{"dynamics": "ot-displacement"}])" + extra + "}";
}
std::string withPanel(const std::string& dynamics, const std::string& extra) {
    return R"({"source": "gaussian:n=10", "target": "moons:n=10", "panels": [{"dynamics": ")" + dynamics + "\"" + extra + "}]}";
}

// The message of the tl::Error parseScenario throws, or "" if it does not throw.
QString parseError(const std::string& json, const std::string& context = "bad.json") {
    try {
        tl::parseScenario(json, ".", context);
    } catch (const tl::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

bool sameScenario(const tl::Scenario& a, const tl::Scenario& b, QString* why) {
    auto fail = [&](const QString& w) {
        *why = w;
        return false;
    };
    if (a.name != b.name) return fail("name");
    if (a.description != b.description) return fail("description");
    if (a.source != b.source || a.target != b.target) return fail("source/target");
    if (a.frames != b.frames) return fail("frames");
    if (a.divergenceEpsilon != b.divergenceEpsilon) return fail("divergence_epsilon");
    if (a.panels.size() != b.panels.size()) return fail("panel count");
    for (std::size_t k = 0; k < a.panels.size(); ++k) {
        const auto& p = a.panels[k];
        const auto& q = b.panels[k];
        if (p.dynamics != q.dynamics || p.title != q.title) return fail(QString("panel %1 dynamics/title").arg(k));
        if (p.params.all() != q.params.all()) {
            for (const auto& [key, v] : p.params.all())
                if (!q.params.has(key) || q.params.all().at(key) != v)
                    return fail(QString("panel %1 key %2: %3 vs %4").arg(k).arg(key.c_str(), tl::paramText(v).c_str(),
                                                                              q.params.has(key) ? tl::paramText(q.params.all().at(key)).c_str() : "missing"));
            return fail(QString("panel %1 params").arg(k));
        }
    }
    return true;
}

}  // namespace

class TestScenario : public QObject {
    Q_OBJECT

private slots:
    // divergence_samples: the metric's thinning (a fixed pseudo-random subset, weights renormalised); bad values name the key.
    void divergenceSamples() {
        const auto ok = tl::parseScenario(R"({"source": "gaussian", "target": "moons", "divergence_samples": 500, "panels": [{"dynamics": "ot-displacement"}]})", ".", "t");
        QCOMPARE(ok.divergenceSamples, 500L);
        QCOMPARE(tl::parseScenario(tl::scenarioToJson(ok), ".", "t").divergenceSamples, 500L);
        for (const char* bad : {"1.5", "-1", "\"all\""}) {
            try {
                tl::parseScenario(std::string(R"({"source": "gaussian", "target": "moons", "divergence_samples": )") + bad +
                                      R"(, "panels": [{"dynamics": "ot-displacement"}]})",
                                  ".", "t");
                QFAIL(bad);
            } catch (const tl::Error& e) {
                QVERIFY2(QString(e.what()).contains("divergence_samples"), e.what());
            }
        }
        tl::PointCloud pc;
        pc.dim = 1;
        for (int i = 0; i < 10; ++i) {
            pc.points.push_back(i);
            pc.weights.push_back(i + 1.0);
        }
        const tl::PointCloud t = tl::thinned(pc, 4);
        QCOMPARE(t.size(), std::size_t(4));
        QCOMPARE(tl::thinned(pc, 4).points, t.points);  // the same subset every time (frames of a run)
        double sum = 0;
        for (std::size_t r = 0; r < t.size(); ++r) {
            sum += t.weights[r];
            if (r) QVERIFY(t.points[r] > t.points[r - 1]);  // distinct points, in index order
            // weight of point i was i + 1: renormalised over the subset
            double total = 0;
            for (double x : t.points) total += x + 1;
            QVERIFY(std::abs(t.weights[r] - (t.points[r] + 1) / total) < 1e-15);
        }
        QVERIFY(std::abs(sum - 1) < 1e-15);
        // Not a stride: a cloud alternating between two places (as moons alternate between the two
        // moons) thinned to half keeps both places about equally (a stride of 2 would keep one).
        tl::PointCloud alt;
        alt.dim = 1;
        for (int i = 0; i < 2000; ++i) {
            alt.points.push_back(i % 2);
            alt.weights.push_back(1.0);
        }
        for (long k : {1000L, 500L, 1500L}) {
            const tl::PointCloud h = tl::thinned(alt, k);
            double mean = 0;
            for (std::size_t r = 0; r < h.size(); ++r) mean += h.weights[r] * h.points[r];
            QVERIFY2(std::abs(mean - 0.5) < 0.05, qPrintable(QString("k = %1: mean %2").arg(k).arg(mean)));
        }
        QCOMPARE(tl::thinned(pc, 0).size(), std::size_t(10));
        QCOMPARE(tl::thinned(pc, 20).size(), std::size_t(10));
    }

    // The contract example: values as written, declared defaults for everything unspecified,
    // name from the context's file name, 61 uniform times from 0 to 1.
    void contractExample() {
        const tl::Scenario s = tl::parseScenario(kExample, "/some/dir", "/some/dir/example.json");
        QCOMPARE(QString::fromStdString(s.name), QString("example"));
        QCOMPARE(s.source, std::string("gaussian:n=2000,seed=1"));
        QCOMPARE(s.target, std::string("moons:n=2000,seed=2"));
        QCOMPARE(s.frames, 61);
        QCOMPARE(s.divergenceEpsilon, 0.05);
        QCOMPARE(s.baseDir, std::string("/some/dir"));
        QCOMPARE(static_cast<int>(s.panels.size()), 3);
        const auto& ot = s.panels[0];
        QCOMPARE(ot.dynamics, std::string("ot-displacement"));
        QCOMPARE(ot.params.choice("method"), std::string("exact"));
        QCOMPARE(ot.params.real("epsilon"), 0.01);
        QCOMPARE(ot.params.real("gauge"), 0.0);
        QCOMPARE(ot.params.integer("steps"), 200LL);
        const auto& fm = s.panels[1];
        QCOMPARE(fm.dynamics, std::string("flow-matching"));
        QCOMPARE(fm.params.choice("field"), std::string("closed-form"));
        QCOMPARE(fm.params.choice("integrator"), std::string("rk4"));
        QCOMPARE(fm.params.integer("steps"), 100LL);
        QCOMPARE(fm.params.real("rtol"), 1e-5);
        QCOMPARE(fm.params.real("delta"), 0.001);
        QCOMPARE(fm.params.real("gauge"), 0.0);
        QCOMPARE(fm.params.choice("coupling"), std::string("independent"));
        QCOMPARE(fm.params.integer("iterations"), 3000LL);
        QCOMPARE(fm.params.integer("hidden"), 64LL);
        QCOMPARE(fm.params.integer("batch"), 256LL);
        QCOMPARE(fm.params.real("lr"), 0.002);
        QCOMPARE(fm.params.integer("seed"), 0LL);
        const auto& df = s.panels[2];
        QCOMPARE(df.dynamics, std::string("diffusion"));
        QCOMPARE(df.params.choice("sampler"), std::string("ode"));
        QCOMPARE(df.params.integer("steps"), 200LL);
        QCOMPARE(df.params.choice("integrator"), std::string("heun"));
        QCOMPARE(df.params.real("noise"), 1.0);
        QCOMPARE(df.params.real("delta"), 0.001);
        QCOMPARE(df.params.integer("seed"), 0LL);
        // Every declared parameter has a value (defaults filled in), nothing else.
        for (const auto& p : s.panels) {
            const auto& info = tl::findDynamics(p.dynamics);
            QCOMPARE(p.params.all().size(), info.params.size());
            for (const auto& spec : info.params) QVERIFY2(p.params.has(spec.name), spec.name.c_str());
        }
        const std::vector<double> t = s.times();
        QCOMPARE(static_cast<int>(t.size()), 61);
        QCOMPARE(t.front(), 0.0);
        QCOMPARE(t.back(), 1.0);
        for (int k = 0; k < 61; ++k) QVERIFY(std::abs(t[k] - k / 60.0) < 1e-15);
    }

    // scenarioToJson -> parseScenario is the identity (every field and parameter value, types
    // included), and the JSON text is a fixed point.
    void roundTrip_data() {
        QTest::addColumn<QString>("json");
        QTest::newRow("contract example") << QString(kExample);
        QTest::newRow("all options") << QString(R"({"name": "All", "description": "d\u00e9j\u00e0 vu, 'quoted'", "source": "gmm:n=50", "target": "ring:n=40",
            "frames": 3, "divergence_epsilon": 0.125,
            "panels": [{"dynamics": "flow-matching", "title": "gauge", "field": "gaussian", "gauge": -2.5, "rtol": 3e-7, "steps": 17},
                       {"dynamics": "ot-displacement", "method": "sinkhorn", "epsilon": 0.3},
                       {"dynamics": "diffusion", "sampler": "sde", "noise": 0.1, "seed": 123456789012}]})");
    }
    void roundTrip() {
        QFETCH(QString, json);
        const tl::Scenario a = tl::parseScenario(json.toStdString(), "", "rt.json");
        const std::string text = tl::scenarioToJson(a);
        const tl::Scenario b = tl::parseScenario(text, "", "other.json");
        QString why;
        QVERIFY2(sameScenario(a, b, &why), qPrintable(why + "\n" + QString::fromStdString(text)));
        QCOMPARE(tl::scenarioToJson(b), text);
    }

    // Every preset parses, has 1..8 panels, and its SPECs sample (same dimension).
    void presetsParse() {
        const QDir dir(QStringLiteral(TL_SOURCE_DIR "/resources/scenarios"));
        const QStringList files = dir.entryList({"*.json"}, QDir::Files);
        QVERIFY(files.size() >= 3);
        for (const QString& f : files) {
            const std::string path = dir.filePath(f).toStdString();
            tl::Scenario s;
            try {
                s = tl::loadScenario(path);
            } catch (const tl::Error& e) {
                QFAIL(qPrintable(f + ": " + e.what()));
            }
            QVERIFY2(!s.panels.empty() && s.panels.size() <= static_cast<std::size_t>(tl::kMaxPanels), qPrintable(f));
            QVERIFY2(s.frames >= 2, qPrintable(f));
            const tl::PointCloud src = tl::measureFromSpec(s.source, s.baseDir);
            QVERIFY2(src.size() > 0, qPrintable(f));
            if (!s.target.empty()) {  // gradient-flow presets have none
                const tl::PointCloud tgt = tl::measureFromSpec(s.target, s.baseDir);
                QVERIFY2(src.dim == tgt.dim && tgt.size() > 0, qPrintable(f));
            }
            QString why;
            QVERIFY2(sameScenario(s, tl::parseScenario(tl::scenarioToJson(s), s.baseDir, path), &why), qPrintable(f + ": " + why));
        }
    }

    // Errors are tl::Errors whose one-line message names the document and the problem (the key, or
    // the bad value for dynamics names / JSON syntax).
    // One rule for integers: 61.0 is 61 for "frames" as 2.0 is 2 for an integer parameter.
    void integralNumbersAreIntegers() {
        const tl::Scenario s = tl::parseScenario(R"({"source": "gaussian", "target": "moons", "frames": 61.0,
            "panels": [{"dynamics": "flow-matching", "steps": 2.0}]})", ".", "t");
        QCOMPARE(s.frames, 61);
        QCOMPARE(s.panels[0].params.integer("steps"), 2LL);
    }

    void errorsNameTheKey_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QStringList>("expect");
        QTest::newRow("unknown top-level key") << QString::fromStdString(withTop(R"(, "framez": 3)")) << QStringList{"'framez'"};
        QTest::newRow("unknown panel key") << QString::fromStdString(withPanel("flow-matching", R"(, "stepz": 3)")) << QStringList{"'stepz'", "panel 0"};
        QTest::newRow("missing source") << QString(R"({"target": "moons", "panels": [{"dynamics": "ot-displacement"}]})") << QStringList{"'source'"};
        QTest::newRow("missing target") << QString(R"({"source": "moons", "panels": [{"dynamics": "ot-displacement"}]})") << QStringList{"'target'"};
        QTest::newRow("missing panels") << QString(R"({"source": "moons", "target": "moons"})") << QStringList{"'panels'"};
        QTest::newRow("empty panels") << QString(R"({"source": "moons", "target": "moons", "panels": []})") << QStringList{"'panels'"};
        QTest::newRow("frames 1") << QString::fromStdString(withTop(R"(, "frames": 1)")) << QStringList{"'frames'"};
        QTest::newRow("frames 0") << QString::fromStdString(withTop(R"(, "frames": 0)")) << QStringList{"'frames'"};
        QTest::newRow("frames abc") << QString::fromStdString(withTop(R"(, "frames": "abc")")) << QStringList{"'frames'"};
        QTest::newRow("frames 2.5") << QString::fromStdString(withTop(R"(, "frames": 2.5)")) << QStringList{"'frames'"};
        QTest::newRow("divergence_epsilon 0") << QString::fromStdString(withTop(R"(, "divergence_epsilon": 0)")) << QStringList{"'divergence_epsilon'"};
        QTest::newRow("source not a string") << QString(R"({"source": 3, "target": "moons", "panels": [{"dynamics": "ot-displacement"}]})") << QStringList{"'source'"};
        QTest::newRow("steps 0") << QString::fromStdString(withPanel("flow-matching", R"(, "steps": 0)")) << QStringList{"'steps'", "panel 0"};
        QTest::newRow("epsilon -1") << QString::fromStdString(withPanel("ot-displacement", R"(, "epsilon": -1)")) << QStringList{"'epsilon'"};
        QTest::newRow("delta 0.9") << QString::fromStdString(withPanel("diffusion", R"(, "delta": 0.9)")) << QStringList{"'delta'"};
        QTest::newRow("steps ten") << QString::fromStdString(withPanel("flow-matching", R"(, "steps": "ten")")) << QStringList{"'steps'", "integer"};
        QTest::newRow("steps 2.5") << QString::fromStdString(withPanel("flow-matching", R"(, "steps": 2.5)")) << QStringList{"'steps'", "integer"};
        QTest::newRow("field 3") << QString::fromStdString(withPanel("flow-matching", R"(, "field": 3)")) << QStringList{"'field'"};
        QTest::newRow("gauge true") << QString::fromStdString(withPanel("flow-matching", R"(, "gauge": true)")) << QStringList{"'gauge'", "number"};
        QTest::newRow("unknown choice") << QString::fromStdString(withPanel("flow-matching", R"(, "integrator": "rk5")")) << QStringList{"'integrator'", "rk5"};
        QTest::newRow("title not a string") << QString::fromStdString(withPanel("diffusion", R"(, "title": 1)")) << QStringList{"'title'"};
        QTest::newRow("dynamics missing") << QString(R"({"source": "moons", "target": "moons", "panels": [{"steps": 3}]})") << QStringList{"'dynamics'", "panel 0"};
        QTest::newRow("panel not an object") << QString(R"({"source": "moons", "target": "moons", "panels": [3]})") << QStringList{"panel 0"};
        std::string nine = R"({"source": "moons", "target": "moons", "panels": [)";
        for (int k = 0; k < 9; ++k) nine += std::string(k ? "," : "") + R"({"dynamics": "ot-displacement"})";
        nine += "]}";
        QTest::newRow("9 panels") << QString::fromStdString(nine) << QStringList{"'panels'", "8"};
        QTest::newRow("invalid JSON") << QString(R"({"source": "moons", )") << QStringList{"JSON"};
        QTest::newRow("duplicate top-level key") << QString::fromStdString(withTop(R"(, "frames": 5, "frames": 7)")) << QStringList{"'frames'", "twice"};
        QTest::newRow("duplicate panel key") << QString::fromStdString(withPanel("flow-matching", R"(, "steps": 5, "steps": 7)")) << QStringList{"'steps'", "twice"};
        QTest::newRow("not an object") << QString("[1, 2]") << QStringList{"object"};
        // User text is quoted with escapes (issue 12 §2: newlines and ESC from keys, values and the
        // JSON parser's excerpt stay one printable line).
        QTest::newRow("key with a newline and ESC") << QString::fromStdString(withTop(", \"fr\\nam\\u001bes\": 5"))
                                                   << QStringList{"'fr\\nam\\x1bes'"};
        QTest::newRow("panel key with a newline") << QString::fromStdString(withPanel("flow-matching", ", \"st\\neps\": 5"))
                                                 << QStringList{"'st\\neps'", "panel 0"};
        QTest::newRow("choice with a CR") << QString::fromStdString(withPanel("flow-matching", ", \"integrator\": \"rk\\r4\""))
                                         << QStringList{"'integrator'", "'rk\\r4'"};
        QTest::newRow("dynamics with ESC") << QString("{\"source\": \"moons\", \"target\": \"moons\", \"panels\": [{\"dynamics\": \"x\\u001b[31m\"}]}")
                                          << QStringList{"'x\\x1b[31m'"};
        QTest::newRow("raw control byte in the JSON") << QString("{\"source\": \"moons\x01\", ") << QStringList{"JSON"};
    }
    void errorsNameTheKey() {
        QFETCH(QString, json);
        QFETCH(QStringList, expect);
        const QString msg = parseError(json.toStdString());
        QVERIFY2(!msg.isEmpty(), "no error");
        QVERIFY2(!msg.contains('\n'), qPrintable(msg));
        for (const QChar c : msg) QVERIFY2(c.unicode() >= 0x20 && c.unicode() != 0x7f, qPrintable("a control character in: " + msg));
        QVERIFY2(msg.contains("bad.json"), qPrintable("the message does not name the document: " + msg));
        for (const QString& e : expect) QVERIFY2(msg.contains(e), qPrintable(QString("'%1' not in: %2").arg(e, msg)));
    }

    // An unknown dynamics name is an error naming the bad name and the known ones; like every other
    // panel error it should also name the document and the panel (scenario.h: errors name the key).
    void unknownDynamicsNamesPanel() {
        const QString msg = parseError(R"({"source": "moons", "target": "moons", "panels": [{"dynamics": "ot-displacement"}, {"dynamics": "heat-flow"}]})");
        QVERIFY2(!msg.isEmpty(), "no error");
        QVERIFY2(msg.contains("heat-flow") && msg.contains("flow-matching"), qPrintable(msg));
        QVERIFY2(msg.contains("bad.json") && msg.contains("panel 1"), qPrintable("the message names neither the document nor the panel: " + msg));
    }

    // A relative CSV path in a scenario resolves against the scenario's folder, not the working
    // directory: loadScenario sets baseDir, sampleMeasure reads the file beside it, and a Runner run
    // (started from another working directory) starts its particles at exactly those points.
    void relativeCsvResolvesAgainstScenarioFolder() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(QDir(tmp.path()).mkpath("scenes/data"));
        const QString folder = tmp.filePath("scenes");
        writeText(folder + "/data/pts.csv", "x,y\n0,0\n1,0\n0,1\n1,1\n0.5,0.25\n");
        writeText(folder + "/scene.json", R"({"source": "data/pts.csv", "target": "gaussian:n=5,seed=3", "frames": 3,
                                              "panels": [{"dynamics": "ot-displacement"}]})");
        const QString oldCwd = QDir::currentPath();
        QVERIFY(QDir::setCurrent(tmp.path()));  // elsewhere: a cwd-relative lookup would fail
        const tl::Scenario s = tl::loadScenario((folder + "/scene.json").toStdString());
        QCOMPARE(QDir(QString::fromStdString(s.baseDir)).canonicalPath(), QDir(folder).canonicalPath());
        const tl::Measure m = tl::sampleMeasure(s.source, s.baseDir);
        const std::vector<double> want = {0, 0, 1, 0, 0, 1, 1, 1, 0.5, 0.25};
        QVERIFY(m.cloud.points == want);
        tl::Runner r(s, 1);
        r.start();
        QVERIFY(r.waitIdle(std::chrono::seconds(30)));
        const tl::PanelStatus st = r.status(0);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(QString("%1: %2").arg(tl::panelStateName(st.state), st.error.c_str())));
        QVERIFY(r.history(0)->at(0)->positions == want);
        QVERIFY(QDir::setCurrent(oldCwd));
        // Without the base folder the same SPEC is not found (the test would otherwise prove nothing).
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sampleMeasure(s.source, ""));
    }

    // saveScenario writes what loadScenario reads back.
    void saveLoad() {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const tl::Scenario a = tl::parseScenario(kExample, "", "example.json");
        const std::string path = tmp.filePath("saved.json").toStdString();
        tl::saveScenario(path, a);
        const tl::Scenario b = tl::loadScenario(path);
        QString why;
        QVERIFY2(sameScenario(a, b, &why), qPrintable(why));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::loadScenario(tmp.filePath("missing.json").toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestScenario)
#include "tst_scenario.moc"
