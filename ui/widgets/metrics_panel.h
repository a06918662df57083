// MetricsPanel: the metrics dock — a VTK chart (vtkChartXY in the view's renderer) of one per-frame
// metric vs t for every panel (names in words, optional log scale, a legend above the chart that never
// covers a curve; or the solvers' residuals vs iteration), a marker at the current t, and a table of the per-run numbers
// (state, NFE, straightness, final Sinkhorn divergence, wall time).
#pragma once
#include <QWidget>
#include <memory>
#include <vector>

#include "engine/frame.h"
#include "engine/runner.h"

namespace tl::ui {

class VtkViewWidget;

class MetricsPanel : public QWidget {
    Q_OBJECT
public:
    explicit MetricsPanel(QWidget* parent = nullptr);
    ~MetricsPanel() override;

    // New data: frames per panel (time order), their titles and run status.
    void setRuns(const std::vector<std::vector<FramePtr>>& frames, const std::vector<QString>& titles,
                 const std::vector<PanelStatus>& status);
    void setTime(double t);
    // The plotted metric's key (e.g. "sinkhorn_divergence"; "convergence" = solvers' residuals vs
    // iteration); the combo shows it in words (metricLabel).
    QString metric() const;
    void setMetric(const QString& name);
    QStringList metricNames() const;
    static QString metricLabel(const QString& key);
    bool logScale() const;
    void setLogScale(bool on);
    QString legendText() const;  // the legend above the chart (rich text)
    VtkViewWidget* chartView() const;
    // Number of plotted points of panel k (for tests).
    int plottedPoints(int k) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
    void rebuildChart();
};

}  // namespace tl::ui
