#include "widgets/metrics_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <map>

#include <vtkAxis.h>
#include <vtkBrush.h>
#include <vtkChartLegend.h>
#include <vtkChartXY.h>
#include <vtkContextActor.h>
#include <vtkContextScene.h>
#include <vtkDoubleArray.h>
#include <vtkNew.h>
#include <vtkPen.h>
#include <vtkPlot.h>
#include <vtkRenderer.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>

#include "scene/colormap.h"
#include "vtk/vtk_view_widget.h"

namespace tl::ui {

struct MetricsPanel::Impl {
    QComboBox* metric = nullptr;
    VtkViewWidget* view = nullptr;
    QTableWidget* table = nullptr;
    vtkNew<vtkContextActor> actor;
    vtkNew<vtkChartXY> chart;
    std::vector<vtkSmartPointer<vtkTable>> tables;
    vtkNew<vtkTable> marker;
    std::vector<std::vector<FramePtr>> frames;
    std::vector<QString> titles;
    std::vector<std::size_t> plottedSizes;
    double t = 0, ylo = 0, yhi = 1, tmax = 1;
    bool userChose = false;  // until the user picks a metric, show the Sinkhorn divergence once it exists
    QString chosen;          // the key the user picked: kept while a recompute has no frames yet
    QCheckBox* log = nullptr;
    QLabel* legend = nullptr;  // above the chart: never covers a curve
    std::vector<ConvergenceTrace> traces;
};

namespace {

const char* kConvergence = "convergence";  // the combo key of the residual-vs-iteration view

// Metric keys in words (the combo shows these; the key stays the item's data).
QString metricWords(const QString& key) {
    static const std::map<QString, QString> words = {
        {"sinkhorn_divergence", "Sinkhorn divergence to the target"},
        {"kinetic_energy", "kinetic energy E|v|\u00b2"},
        {"path_length", "mean path length so far"},
        {"energy", "energy (the flow's free energy)"},
        {"potential_energy", "potential energy"},
        {"entropy", "entropy \u222b\u03c1 log \u03c1"},
        {"mass", "total mass"},
        {"jko_iterations", "JKO inner iterations"},
        {"clusters", "number of clusters"},
        {"min_cosine", "smallest cosine between tokens"},
        {"loss", "training loss"},
        {"mean_radius", "mean distance to the centre"},
        {"continuity_residual", "continuity residual (relative)"},
        {kConvergence, "convergence: residuals vs iteration"},
    };
    const auto it = words.find(key);
    if (it != words.end()) return it->second;
    if (key.startsWith("mean_")) return "mean " + key.mid(5);
    if (key.startsWith("cov_")) return "covariance " + key.mid(4);
    return QString(key).replace('_', ' ');
}

}  // namespace

MetricsPanel::MetricsPanel(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>()) {
    auto* outer = new QHBoxLayout(this);
    outer->setContentsMargins(4, 2, 4, 2);
    auto* left = new QVBoxLayout;
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel("metric", this));
    d_->metric = new QComboBox(this);
    d_->metric->setObjectName("metric");
    d_->metric->setToolTip("Per-frame metric plotted against t for every panel");
    row->addWidget(d_->metric, 1);
    d_->log = new QCheckBox("log scale", this);
    d_->log->setObjectName("logScale");
    d_->log->setToolTip("Logarithmic vertical axis (values \u2264 0 are left out)");
    row->addWidget(d_->log);
    left->addLayout(row);
    d_->legend = new QLabel(this);
    d_->legend->setObjectName("chartLegend");
    d_->legend->setTextFormat(Qt::RichText);
    left->addWidget(d_->legend);
    d_->view = new VtkViewWidget(this);
    d_->view->setBackground(QColor(26, 28, 36));
    d_->view->setMinimumSize(360, 170);
    left->addWidget(d_->view, 1);
    outer->addLayout(left, 3);
    d_->table = new QTableWidget(0, 6, this);
    d_->table->setHorizontalHeaderLabels({"panel", "state", "NFE", "straightness", "final divergence", "seconds"});
    d_->table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    d_->table->horizontalHeader()->setStretchLastSection(true);
    d_->table->verticalHeader()->hide();
    d_->table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    d_->table->setToolTip("Per-run numbers: NFE = velocity-field evaluations; straightness = E∫|v|²dt − E|x₁−x₀|² (0 = straight paths); "
                          "final divergence = Sinkhorn divergence between the last frame and the target");
    outer->addWidget(d_->table, 2);

    d_->actor->GetScene()->AddItem(d_->chart);
    d_->view->renderer()->AddActor(d_->actor);
    d_->chart->SetShowLegend(false);  // the legend is the Qt label above the chart
    for (int a : {vtkAxis::BOTTOM, vtkAxis::LEFT}) {
        vtkAxis* axis = d_->chart->GetAxis(a);
        axis->GetLabelProperties()->SetColor(0.85, 0.86, 0.9);
        axis->GetTitleProperties()->SetColor(0.85, 0.86, 0.9);
        axis->GetPen()->SetColor(150, 150, 160);
        axis->GetGridPen()->SetColor(60, 62, 72);
    }
    d_->chart->GetAxis(vtkAxis::BOTTOM)->SetTitle("t");
    d_->chart->GetAxis(vtkAxis::BOTTOM)->SetBehavior(vtkAxis::FIXED);
    d_->chart->GetAxis(vtkAxis::BOTTOM)->SetRange(0, 1);
    connect(d_->metric, &QComboBox::activated, this, [this] {
        d_->userChose = true;
        d_->chosen = metric();
    });
    connect(d_->metric, &QComboBox::currentIndexChanged, this, [this] { rebuildChart(); });
    connect(d_->log, &QCheckBox::toggled, this, [this] { rebuildChart(); });
}

MetricsPanel::~MetricsPanel() = default;

VtkViewWidget* MetricsPanel::chartView() const { return d_->view; }
QString MetricsPanel::metric() const { return d_->metric->currentData().toString(); }
void MetricsPanel::setMetric(const QString& name) {
    d_->userChose = true;
    d_->chosen = name;
    const int k = d_->metric->findData(name);
    if (k >= 0) d_->metric->setCurrentIndex(k);
}

QStringList MetricsPanel::metricNames() const {
    QStringList names;
    for (int k = 0; k < d_->metric->count(); ++k) names << d_->metric->itemData(k).toString();
    return names;
}

QString MetricsPanel::metricLabel(const QString& key) { return metricWords(key); }
bool MetricsPanel::logScale() const { return d_->log->isChecked(); }
void MetricsPanel::setLogScale(bool on) { d_->log->setChecked(on); }
QString MetricsPanel::legendText() const { return d_->legend->text(); }

int MetricsPanel::plottedPoints(int k) const {
    if (k < 0 || k >= static_cast<int>(d_->tables.size())) return 0;
    return static_cast<int>(d_->tables[static_cast<std::size_t>(k)]->GetNumberOfRows());
}

void MetricsPanel::setRuns(const std::vector<std::vector<FramePtr>>& frames, const std::vector<QString>& titles,
                           const std::vector<PanelStatus>& status) {
    // Metric names in first-seen order.
    QStringList names;
    for (const auto& run : frames)
        for (const auto& f : run)
            for (const auto& [name, v] : f->metrics)
                if (!names.contains(QString::fromStdString(name))) names << QString::fromStdString(name);
    std::vector<ConvergenceTrace> traces;
    bool anyTrace = false;
    for (const auto& st : status) {
        traces.push_back(st.convergence);
        anyTrace = anyTrace || !st.convergence.empty();
    }
    if (anyTrace) names << kConvergence;
    bool changed = false;
    if (names != metricNames()) {
        const QString current = metric();
        const QSignalBlocker block(d_->metric);
        d_->metric->clear();
        for (const QString& n : names) d_->metric->addItem(metricWords(n), n);
        // the user's choice survives a recompute (it comes back when its frames do); until then the
        // divergence, else a solver's convergence, else what was shown
        int keep = d_->userChose ? names.indexOf(d_->chosen) : names.indexOf(QString("sinkhorn_divergence"));
        if (keep < 0 && !d_->userChose) keep = names.indexOf(QString(kConvergence));
        if (keep < 0) keep = names.indexOf(current);
        d_->metric->setCurrentIndex(std::max(0, keep));
        changed = true;
    }
    std::vector<std::size_t> traceSizes, oldSizes;
    for (const auto& c : traces) traceSizes.push_back(c.rows.size());
    for (const auto& c : d_->traces) oldSizes.push_back(c.rows.size());
    changed = changed || traceSizes != oldSizes;
    d_->traces = std::move(traces);
    std::vector<std::size_t> sizes;
    for (const auto& r : frames) sizes.push_back(r.size());
    // Any frame replaced (e.g. a metric added after the frames were shown) redraws the chart.
    changed = changed || sizes != d_->plottedSizes || titles != d_->titles || frames != d_->frames;
    d_->frames = frames;
    d_->titles = titles;
    // The time axis spans the scenario's duration (the last frame's time), 1 for transport runs.
    double tmax = 0;
    for (const auto& r : frames)
        if (!r.empty()) tmax = std::max(tmax, r.back()->t);
    if (tmax > 0 && std::isfinite(tmax) && tmax != d_->tmax) {
        d_->tmax = tmax;
        changed = true;
    }
    if (changed || d_->tables.size() != frames.size()) rebuildChart();

    d_->table->setRowCount(static_cast<int>(status.size()));
    for (std::size_t k = 0; k < status.size(); ++k) {
        const PanelStatus& st = status[k];
        auto num = [](double v, char fmt = 'g', int prec = 3) { return std::isfinite(v) ? QString::number(v, fmt, prec) : QString::fromUtf8("\u2014"); };
        const QStringList cells = {k < titles.size() ? titles[k] : QString::number(k + 1),
                                   st.state == PanelState::Failed ? "failed" : QString(panelStateName(st.state)),
                                   st.state == PanelState::Done ? QString::number(st.summary.nfe) : QString::fromUtf8("\u2014"),
                                   st.state == PanelState::Done ? num(st.summary.straightness) : QString::fromUtf8("\u2014"),
                                   st.state == PanelState::Done ? num(st.finalDivergence) : QString::fromUtf8("\u2014"),
                                   st.state == PanelState::Done ? num(st.seconds, 'f', 2) : QString::fromUtf8("\u2014")};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = d_->table->item(static_cast<int>(k), c);
            if (!item) d_->table->setItem(static_cast<int>(k), c, item = new QTableWidgetItem);
            item->setText(cells[c]);
            if (c == 0) item->setForeground(panelColor(static_cast<int>(k)));
            if (c == 1) {
                // The reason a panel failed, or what a finished run warns about (e.g. too few steps for its gauge).
                std::string tip = st.state == PanelState::Failed ? st.error : "";
                for (const std::string& w : st.summary.warnings) tip += (tip.empty() ? "" : "\n") + w;
                item->setToolTip(QString::fromStdString(tip));
                if (st.state == PanelState::Done && !st.summary.warnings.empty()) item->setText(cells[c] + QString::fromUtf8(" \u26A0"));
            }
        }
    }
}

void MetricsPanel::rebuildChart() {
    d_->chart->ClearPlots();
    d_->tables.clear();
    d_->plottedSizes.clear();
    const QString key = metric();
    const std::string name = key.toStdString();
    const bool convergence = key == kConvergence;
    const bool log = d_->log->isChecked() || convergence;  // residuals span decades: always logarithmic
    double lo = INFINITY, hi = -INFINITY, xmax = 0;
    QStringList legend;
    auto addLine = [&](vtkTable* table, int column, const QColor& c, bool dashed) {
        vtkPlot* line = d_->chart->AddPlot(vtkChart::LINE);
        line->SetInputData(table, 0, column);
        line->SetColor(static_cast<unsigned char>(c.red()), static_cast<unsigned char>(c.green()), static_cast<unsigned char>(c.blue()), 255);
        line->SetWidth(2.0f);
        if (dashed) line->GetPen()->SetLineType(vtkPen::DASH_LINE);
    };
    for (std::size_t k = 0; k < d_->frames.size(); ++k) {
        const QString title = k < d_->titles.size() ? d_->titles[k] : QString::number(k + 1);
        const QColor c = panelColor(static_cast<int>(k));
        auto table = vtkSmartPointer<vtkTable>::New();
        vtkNew<vtkDoubleArray> t;
        t->SetName(convergence ? "iteration" : "t");
        table->AddColumn(t);
        std::vector<vtkSmartPointer<vtkDoubleArray>> columns;
        auto keep = [&](double y) { return std::isfinite(y) && (!log || y > 0); };
        if (convergence) {
            const ConvergenceTrace* tr = k < d_->traces.size() ? &d_->traces[k] : nullptr;
            if (tr && !tr->empty()) {
                for (const std::string& n : tr->names) {
                    columns.push_back(vtkSmartPointer<vtkDoubleArray>::New());
                    columns.back()->SetName(n.c_str());
                }
                for (const auto& row : tr->rows) {
                    bool ok = true;
                    for (std::size_t j = 1; j < row.size(); ++j) ok = ok && keep(row[j]);
                    if (!ok) continue;
                    t->InsertNextValue(row[0]);
                    xmax = std::max(xmax, row[0]);
                    for (std::size_t j = 1; j < row.size() && j <= columns.size(); ++j) {
                        columns[j - 1]->InsertNextValue(row[j]);
                        lo = std::min(lo, row[j]);
                        hi = std::max(hi, row[j]);
                    }
                }
            }
        } else {
            columns.push_back(vtkSmartPointer<vtkDoubleArray>::New());
            columns.back()->SetName(title.toUtf8().constData());
            for (const auto& f : d_->frames[k]) {
                const double y = f->metric(name);
                if (!keep(y)) continue;
                t->InsertNextValue(f->t);
                columns.back()->InsertNextValue(y);
                lo = std::min(lo, y);
                hi = std::max(hi, y);
            }
        }
        for (auto& col : columns) table->AddColumn(col);
        d_->tables.push_back(table);
        d_->plottedSizes.push_back(d_->frames[k].size());
        if (table->GetNumberOfRows() < 2) {  // a line needs two points
            legend << QString("<span style='color:%1'>\u25ac</span> <span style='color:#8a8c99'>%2 (no data)</span>").arg(c.name(), title.toHtmlEscaped());
            continue;
        }
        for (std::size_t j = 0; j < columns.size(); ++j) addLine(table, static_cast<int>(j + 1), c, j > 0);
        QString entry = QString("<span style='color:%1'>\u25ac</span> %2").arg(c.name(), title.toHtmlEscaped());
        if (convergence) {
            QStringList series;
            for (std::size_t j = 0; j < columns.size(); ++j) series << QString(j == 0 ? "solid " : "dashed ") + columns[j]->GetName();
            entry += " (" + series.join(", ") + ")";
        }
        legend << entry;
    }
    d_->legend->setText(legend.join("&nbsp;&nbsp;&nbsp;"));
    if (!(lo <= hi)) lo = log ? 1e-3 : 0, hi = 1;
    if (hi - lo < 1e-12) hi = lo + 1e-12 + 1e-6 * std::abs(lo);
    d_->ylo = lo;
    d_->yhi = hi;
    vtkAxis* left = d_->chart->GetAxis(vtkAxis::LEFT);
    left->SetLogScale(log);
    left->SetTitle(convergence ? "residual" : "");  // the combo above names the metric (a long title would be clipped)
    d_->log->setEnabled(!convergence);  // residuals span decades: always logarithmic
    vtkAxis* bottom = d_->chart->GetAxis(vtkAxis::BOTTOM);
    if (convergence) {
        bottom->SetTitle("iteration");
        bottom->SetRange(0, std::max(1.0, xmax));
    } else {
        bottom->SetTitle("t");
        bottom->SetRange(0, d_->tmax);
        // Marker at the current t (a two-point line).
        while (d_->marker->GetNumberOfColumns() > 0) d_->marker->RemoveColumn(0);
        vtkNew<vtkDoubleArray> mt, mv;
        mt->SetName("t");
        mv->SetName("now");
        mt->InsertNextValue(d_->t);
        mt->InsertNextValue(d_->t);
        mv->InsertNextValue(lo);
        mv->InsertNextValue(hi);
        d_->marker->AddColumn(mt);
        d_->marker->AddColumn(mv);
        vtkPlot* marker = d_->chart->AddPlot(vtkChart::LINE);
        marker->SetInputData(d_->marker, 0, 1);
        marker->SetColor(200, 200, 210, 140);
        marker->SetWidth(1.0f);
    }
    d_->view->requestRender();
}

void MetricsPanel::setTime(double t) {
    if (std::abs(t - d_->t) < 0.02 && t != 0 && t != 1) return;  // the marker moves in steps: fewer chart renders
    d_->t = t;
    if (d_->marker->GetNumberOfRows() == 2) {
        d_->marker->SetValue(0, 0, t);
        d_->marker->SetValue(1, 0, t);
        d_->marker->Modified();
        d_->view->requestRender();
    }
}

}  // namespace tl::ui
