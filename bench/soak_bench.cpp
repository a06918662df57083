// transportlab-soakbench: the app's window on the default scenario, playing, edited every few seconds
// by a seeded edit generator, for an hour (issue 18 §5; not in CI). Reports whether memory stays
// bounded and whether the GUI thread keeps its pace:
//   - RSS (VmRSS) every second, summarised per minute by its median (a minute in which an edit doubled
//     a measure's n and the panel recomputed is a spike, not a leak; the maximum is reported too);
//     the reference is the median of the minute before --warmup (5 min); the run fails if a later
//     minute's median is more than 10 % above it;
//   - a 100 ms heartbeat timer on the GUI thread; a beat that comes more than --late-ms (1000 ms) after
//     it was due is a late frame, and fails the run (the views are redrawn from that thread, so a
//     late beat is a frame the user saw late);
//   - the playback: the number of beats at which the shown time moved (playing restarts at the end).
// The edit generator acts as a user would, on the widgets of the Scenario dock: a number field of a
// panel's form, the frames or duration spin box, or a choice, set to a valid value near its starting
// value (x 1/2 .. x 2 of the value it had when first seen, so edits do not drift to huge problems),
// confirmed with Return. Every 60 s one progress line on stderr; at the end one JSON line on stdout.
// Exit 0 when both bounds hold, 1 when not, 2 on bad arguments.
// Usage (under an X server): transportlab-soakbench [--seconds 3600] [--edit-every 5] [--seed 1]
//                            [--warmup 300] [--late-ms 1000] [--scenario FILE]
#include <QApplication>
#include <QComboBox>
#include <QCommandLineParser>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSpinBox>
#include <QTest>
#include <QTimer>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/scenario.h"
#include "util/error.h"
#include "vtk/vtk_view_widget.h"
#include "widgets/compare_window.h"
#include "widgets/scenario_dock.h"

namespace {

double rssMb() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// The label of a form row ("steps", "σ", ...), which names the field across form rebuilds.
QString rowLabel(QWidget* field) {
    for (QWidget* p = field->parentWidget(); p; p = p->parentWidget()) {
        auto* form = qobject_cast<QFormLayout*>(p->layout());
        if (!form) continue;
        if (auto* label = qobject_cast<QLabel*>(form->labelForField(field))) return label->text();
        for (QWidget* w = field; w && w != p; w = w->parentWidget())
            if (auto* label = qobject_cast<QLabel*>(form->labelForField(w))) return label->text();
    }
    return field->objectName();
}

class EditGenerator {
public:
    EditGenerator(QWidget* dock, unsigned seed) : dock_(dock), rng_(seed) {}

    // One edit; returns what it did ("" when no field was found).
    std::string edit() {
        std::vector<QWidget*> fields;
        for (QWidget* w : dock_->findChildren<QWidget*>()) {
            if (!w->isVisible() || !w->isEnabled()) continue;
            if (auto* e = qobject_cast<QLineEdit*>(w)) {
                bool ok = false;
                e->text().toDouble(&ok);
                if (ok && !e->isReadOnly() && !qobject_cast<QAbstractSpinBox*>(e->parentWidget())) fields.push_back(w);
            } else if (qobject_cast<QSpinBox*>(w) || qobject_cast<QDoubleSpinBox*>(w)) {
                fields.push_back(w);
            } else if (auto* c = qobject_cast<QComboBox*>(w)) {
                // the panels' dynamics choosers replace whole panels: rarely
                if (c->count() > 1) fields.push_back(w);
            }
        }
        if (fields.empty()) return "";
        QWidget* w = fields[std::uniform_int_distribution<std::size_t>(0, fields.size() - 1)(rng_)];
        const QString label = rowLabel(w);
        const double factor = std::exp2(std::uniform_real_distribution<double>(-1, 1)(rng_));
        if (auto* e = qobject_cast<QLineEdit*>(w)) {
            const double now = e->text().toDouble();
            const double start = firstSeen(label, now);
            static const QRegularExpression wholeNumber("^-?[0-9]+$");
            const bool integer = wholeNumber.match(e->text().trimmed()).hasMatch();
            const double v = integer ? std::max(0.0, std::round(start == 0 ? 2 * factor : start * factor)) : start * factor;
            const QString text = QString::number(v, 'g', integer ? 12 : 4);
            e->setFocus();
            e->selectAll();
            QTest::keyClicks(e, text);
            QTest::keyClick(e, Qt::Key_Return);
            return "field '" + label.toStdString() + "' = " + text.toStdString();
        }
        if (auto* s = qobject_cast<QSpinBox*>(w)) {
            const int v = std::clamp(static_cast<int>(std::lround(firstSeen(label, s->value()) * factor)), std::max(2, s->minimum()), s->maximum());
            s->setValue(v);
            return "spin box '" + label.toStdString() + "' = " + std::to_string(v);
        }
        if (auto* s = qobject_cast<QDoubleSpinBox*>(w)) {
            const double v = std::clamp(firstSeen(label, s->value()) * factor, s->minimum(), s->maximum());
            s->setValue(v);
            return "spin box '" + label.toStdString() + "' = " + std::to_string(v);
        }
        auto* c = qobject_cast<QComboBox*>(w);
        const int k = std::uniform_int_distribution<int>(0, c->count() - 1)(rng_);
        c->setCurrentIndex(k);
        return "choice '" + label.toStdString() + "' = " + c->itemText(k).toStdString();
    }

private:
    double firstSeen(const QString& label, double now) {
        auto it = start_.find(label);
        if (it == start_.end()) it = start_.emplace(label, now).first;
        return it->second;
    }
    QWidget* dock_;
    std::mt19937 rng_;
    std::map<QString, double> start_;
};

}  // namespace

int main(int argc, char** argv) {
    tl::ui::VtkViewWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    QCommandLineParser p;
    p.addOptions({{"seconds", "length of the run", "S", "3600"},
                  {"edit-every", "seconds between edits", "S", "5"},
                  {"seed", "edit generator seed", "N", "1"},
                  {"warmup", "seconds of warm-up; the minute before its end is the RSS reference", "S", "300"},
                  {"late-ms", "a heartbeat later than this fails the run", "MS", "1000"},
                  {"scenario", "scenario file (default: the app's default scenario)", "FILE"}});
    p.process(app);
    const double seconds = p.value("seconds").toDouble(), editEvery = p.value("edit-every").toDouble();
    const double warmup = p.value("warmup").toDouble(), lateMs = p.value("late-ms").toDouble();
    const unsigned seed = p.value("seed").toUInt();
    if (!(seconds > 0) || !(editEvery > 0) || !(warmup >= 60) || warmup + 60 > seconds || !(lateMs > 0)) {
        std::cerr << "error: --warmup >= 60 (one minute of RSS is the reference), --seconds >= --warmup + 60, --edit-every > 0 and --late-ms > 0\n";
        return 2;
    }
    tl::Scenario scenario;
    try {
        if (p.isSet("scenario")) {
            scenario = tl::loadScenario(p.value("scenario").toStdString());
        } else {
            QFile f(":/scenarios/default.json");
            if (!f.open(QIODevice::ReadOnly)) throw tl::Error("the default scenario is missing from the build");
            scenario = tl::parseScenario(f.readAll().toStdString(), QDir::currentPath().toStdString(), "default scenario");
        }
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    }

    tl::ui::CompareWindow window(scenario);
    window.resize(1440, 900);
    window.show();
    window.setPlaying(true);
    auto* dock = window.findChild<tl::ui::ScenarioDock*>();
    if (!dock) {
        std::cerr << "error: the window has no Scenario dock\n";
        return 2;
    }
    EditGenerator edits(dock, seed);

    QElapsedTimer clock;
    clock.start();
    double reference = 0, maxAfter = 0, peak = 0, maxLate = 0, lastTime = -1, worstMinute = 0;
    std::vector<double> minute;        // this minute's RSS samples
    std::vector<double> minuteMedians;  // one per minute after the warm-up
    long beats = 0, late = 0, moved = 0, editCount = 0, dialogs = 0;
    qint64 modalSince = -1;
    qint64 lastBeat = 0, nextEdit = static_cast<qint64>(editEvery * 1000), nextReport = 60000, nextRss = 1000;
    std::string lastEdit;

    QTimer heartbeat;
    heartbeat.setTimerType(Qt::PreciseTimer);
    heartbeat.setInterval(100);
    QObject::connect(&heartbeat, &QTimer::timeout, [&] {
        const qint64 now = clock.elapsed();
        if (lastBeat > 0) {
            const double lateBy = static_cast<double>(now - lastBeat - 100);
            maxLate = std::max(maxLate, lateBy);
            if (lateBy > lateMs) {
                ++late;
                std::fprintf(stderr, "soak: %.1f s: a frame %.0f ms late (after: %s)\n", now / 1000.0, lateBy, lastEdit.c_str());
            }
        }
        lastBeat = now;
        ++beats;
        if (window.time() != lastTime) ++moved;
        lastTime = window.time();
        if (!window.isPlaying() && window.computationFinished()) {
            window.setTime(0);
            window.setPlaying(true);
        }
        if (now >= nextRss) {
            nextRss += 1000;
            const double rss = rssMb();
            peak = std::max(peak, rss);
            if (now >= warmup * 1000) maxAfter = std::max(maxAfter, rss);
            minute.push_back(rss);
            if (minute.size() == 60) {  // a minute ends: the minute before the warm-up's end is the reference
                std::nth_element(minute.begin(), minute.begin() + 30, minute.end());
                const double median = minute[30];
                minute.clear();
                if (now <= warmup * 1000 + 500) {
                    reference = median;
                } else if (reference > 0) {
                    minuteMedians.push_back(median);
                    worstMinute = std::max(worstMinute, median);
                }
            }
        }
        if (now >= nextEdit) {
            nextEdit += static_cast<qint64>(editEvery * 1000);
            lastEdit = edits.edit();
            ++editCount;
        }
        if (now >= nextReport) {
            nextReport += 60000;
            std::fprintf(stderr, "soak: %4.0f s: RSS %.0f MB (reference %.0f, worst minute median %.0f, max after warm-up %.0f), beats %.0f ms late at most, %ld edits, last: %s\n",
                         now / 1000.0, rssMb(), reference, worstMinute, maxAfter, maxLate, editCount, lastEdit.c_str());
        }
        // A dialog the last edit opened (an invalid value's message, say) is dismissed after 1 s, as a
        // user would; the run goes on.
        if (QWidget* modal = QApplication::activeModalWidget()) {
            if (modalSince < 0) modalSince = now;
            if (now - modalSince > 1000) {
                modal->close();
                ++dialogs;
                modalSince = -1;
            }
        } else {
            modalSince = -1;
        }
        // exit(), not quit(): with unsaved edits the window would ask whether to save them
        if (now >= seconds * 1000) QApplication::exit(0);
    });
    heartbeat.start();
    app.exec();

    const double growth = reference > 0 ? worstMinute / reference - 1 : 0;
    const bool ok = reference > 0 && growth <= 0.10 && late == 0 && moved > 0;
    nlohmann::json j;
    j["seconds"] = clock.elapsed() / 1000.0;
    j["edits"] = editCount;
    j["dialogs_dismissed"] = dialogs;
    j["seed"] = seed;
    j["rss_reference_mb"] = reference;
    j["rss_minute_medians_mb"] = minuteMedians;
    j["rss_worst_minute_median_mb"] = worstMinute;
    j["rss_max_after_warmup_mb"] = maxAfter;
    j["rss_growth"] = growth;
    j["rss_peak_mb"] = peak;
    j["heartbeats"] = beats;
    j["late_frames"] = late;
    j["max_late_ms"] = maxLate;
    j["beats_with_playback_moving"] = moved;
    j["ok"] = ok;
    std::cout << j.dump() << std::endl;
    return ok ? 0 : 1;
}
