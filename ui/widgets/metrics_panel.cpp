#include "widgets/metrics_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

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
    double t = 0, ylo = 0, yhi = 1;
    bool userChose = false;  // until the user picks a metric, show the Sinkhorn divergence once it exists
};

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
    left->addLayout(row);
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
    d_->chart->SetShowLegend(true);
    d_->chart->GetLegend()->SetHorizontalAlignment(vtkChartLegend::RIGHT);
    d_->chart->GetLegend()->SetVerticalAlignment(vtkChartLegend::TOP);
    d_->chart->GetLegend()->GetLabelProperties()->SetColor(0.9, 0.9, 0.92);
    d_->chart->GetLegend()->GetBrush()->SetColor(40, 42, 52, 200);
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
    connect(d_->metric, &QComboBox::activated, this, [this] { d_->userChose = true; });
    connect(d_->metric, &QComboBox::currentIndexChanged, this, [this] { rebuildChart(); });
}

MetricsPanel::~MetricsPanel() = default;

VtkViewWidget* MetricsPanel::chartView() const { return d_->view; }
QString MetricsPanel::metric() const { return d_->metric->currentText(); }
void MetricsPanel::setMetric(const QString& name) {
    d_->userChose = true;
    d_->metric->setCurrentText(name);
}

QStringList MetricsPanel::metricNames() const {
    QStringList names;
    for (int k = 0; k < d_->metric->count(); ++k) names << d_->metric->itemText(k);
    return names;
}

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
    if (names != metricNames()) {
        const QString current = d_->metric->currentText();
        const QSignalBlocker block(d_->metric);
        d_->metric->clear();
        d_->metric->addItems(names);
        const int keep = names.indexOf(d_->userChose ? current : QString("sinkhorn_divergence"));
        d_->metric->setCurrentIndex(keep >= 0 ? keep : std::max(0, static_cast<int>(names.indexOf(current))));
    }
    std::vector<std::size_t> sizes;
    for (const auto& r : frames) sizes.push_back(r.size());
    // Any frame replaced (e.g. a metric added after the frames were shown) redraws the chart.
    const bool changed = sizes != d_->plottedSizes || titles != d_->titles || frames != d_->frames;
    d_->frames = frames;
    d_->titles = titles;
    // The time axis spans the scenario's duration (the last frame's time), 1 for transport runs.
    double tmax = 0;
    for (const auto& r : frames)
        if (!r.empty()) tmax = std::max(tmax, r.back()->t);
    if (tmax > 0 && std::isfinite(tmax)) d_->chart->GetAxis(vtkAxis::BOTTOM)->SetRange(0, tmax);
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
            if (c == 0) item->setForeground(categoricalColor(static_cast<int>(k)));
            if (c == 1 && st.state == PanelState::Failed) item->setToolTip(QString::fromStdString(st.error));
        }
    }
}

void MetricsPanel::rebuildChart() {
    d_->chart->ClearPlots();
    d_->tables.clear();
    d_->plottedSizes.clear();
    const std::string name = d_->metric->currentText().toStdString();
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t k = 0; k < d_->frames.size(); ++k) {
        auto table = vtkSmartPointer<vtkTable>::New();
        vtkNew<vtkDoubleArray> t, v;
        t->SetName("t");
        v->SetName((k < d_->titles.size() ? d_->titles[k] : QString::number(k + 1)).toUtf8().constData());
        for (const auto& f : d_->frames[k]) {
            const double y = f->metric(name);
            if (!std::isfinite(y)) continue;
            t->InsertNextValue(f->t);
            v->InsertNextValue(y);
            lo = std::min(lo, y);
            hi = std::max(hi, y);
        }
        table->AddColumn(t);
        table->AddColumn(v);
        d_->tables.push_back(table);
        d_->plottedSizes.push_back(d_->frames[k].size());
        if (table->GetNumberOfRows() < 2) continue;  // a line needs two points
        vtkPlot* line = d_->chart->AddPlot(vtkChart::LINE);
        line->SetInputData(table, 0, 1);
        const QColor c = categoricalColor(static_cast<int>(k));
        line->SetColor(static_cast<unsigned char>(c.red()), static_cast<unsigned char>(c.green()), static_cast<unsigned char>(c.blue()), 255);
        line->SetWidth(2.0f);
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) hi = lo + 1e-12 + 1e-6 * std::abs(lo);
    d_->ylo = lo;
    d_->yhi = hi;
    // Marker at the current t (a two-point line, not in the legend).
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
    marker->SetLegendVisibility(false);
    d_->chart->GetAxis(vtkAxis::LEFT)->SetTitle(name);
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
