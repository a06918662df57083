// CompareWindow: the scenario's panels side by side (2 x 2 for 3-4), each a VTK view of one dynamics
// (PanelScene layers over the faint target) with linked cameras and a shared timeline (play/pause,
// scrub, speed, loop, step). Docks: the scenario (measure pickers, frames, up to 4 panels each with a
// parameter form generated from its declarations — edits recompute live) and the metrics (VTK chart
// per metric, per-run numbers). File menu: open/save scenario, recent files, export (Ctrl+E).
// A tl::Runner computes on its own thread; this window only reads finished frames (GUI thread only).
#pragma once
#include <QMainWindow>
#include <QSize>
#include <QStringList>
#include <memory>

#include "engine/runner.h"
#include "engine/scenario.h"
#include "scene/panel_scene.h"

class QSlider;

namespace tl::ui {

struct ExportRequest;
struct CameraState;
struct LayerOptions;
class MetricsPanel;
class VtkViewWidget;
class MeasurePicker;
class ParamForm;

class CompareWindow : public QMainWindow {
    Q_OBJECT
public:
    static constexpr int kMaxGuiPanels = 4;

    explicit CompareWindow(const Scenario& scenario, QWidget* parent = nullptr);
    ~CompareWindow() override;

    // ---- the scenario ----
    const Scenario& scenario() const;
    // Replaces the scenario and recomputes (the views keep the last frames until new ones arrive).
    void setScenario(const Scenario& scenario);
    // Opens / saves a scenario file; on failure shows an error dialog, returns false, keeps running.
    bool openScenario(const QString& path);
    bool saveScenario(const QString& path);
    QStringList recentFiles() const;
    // Live edits (what the docks call): new parameters for panel k restart only that panel.
    void setPanelParams(int panel, const ParamValues& values);
    void setPanelDynamics(int panel, const QString& dynamics);
    // Adding, removing or changing one panel recomputes that panel only: the others keep their frames
    // and keep playing.
    bool addPanel(const QString& dynamics);  // false at kMaxGuiPanels
    void removePanel(int panel);
    void setPanelTitle(int panel, const QString& title);  // recomputes nothing
    // Every scenario edit above (and frames, duration, measures) can be undone; undo recomputes only
    // the panels whose spec differs. Unsaved edits make closing ask Save / Discard / Cancel.
    bool canUndo() const;
    bool canRedo() const;
    bool hasUnsavedChanges() const;
    void setMeasures(const QString& source, const QString& target);
    // A dropped / chosen file: .json opens a scenario, .csv / images become the target measure.
    bool openFile(const QString& path);

    // ---- playback ----
    // Shows every panel at time t in [0, 1] (the last computed frame at or before t).
    void setTime(double t);
    double time() const;
    void setPlaying(bool playing);
    bool isPlaying() const;
    // True once every panel has finished (done or failed) or the measures failed to sample.
    bool computationFinished() const;
    // The measures could not be sampled ("" when they were).
    QString samplingError() const;
    // Cancels the computation (the panels keep what they have).
    void cancelComputation();

    // ---- views ----
    void setLayers(const LayerOptions& layers);
    LayerOptions layers() const;
    int panelCount() const;
    VtkViewWidget* view(int panel) const;
    PanelScene* panelScene(int panel) const;  // what panel k draws (for tests)
    MetricsPanel* metricsPanel() const;
    MeasurePicker* sourcePicker() const;
    MeasurePicker* targetPicker() const;
    ParamForm* panelForm(int panel) const;
    // Positions of the particles shown in panel k (row-major, dim per row) and the dimension.
    std::vector<double> shownPositions(int panel, int* dim = nullptr) const;
    // The frames and status of panel k's last complete run (or of the running one before any completed).
    std::vector<FramePtr> panelFrames(int panel) const;
    PanelStatus panelStatus(int panel) const;
    // The time shown by the views, the label and the chart: the scenario time of the frame under the
    // slider handle (the playhead moves continuously between frames while playing).
    double shownTime() const;
    QSlider* timeSlider() const;
    // The colour scales the views use now (shared by the panels; fixed while "lock colours" is on).
    ColorRanges colorRanges() const;
    void setColorScaleLocked(bool locked);
    // Renders all views now and returns the window's image.
    QImage grabWindowImage();

    // ---- export ----
    // Runs an export with a progress dialog (cancel leaves nothing). Errors: dialog + false.
    // Animations use the on-screen camera unless request.render.camera says otherwise.
    bool exportTo(const ExportRequest& request);
    // File > Save picture: the views now (camera, time, layers) as a PNG of `size` (empty: the size on
    // screen, which gives the screen's pixels), all panels or panel k. Errors: dialog + false.
    bool savePicture(const QString& path, QSize size = QSize(), int panel = -1);
    QSize pictureSize(int panel = -1) const;  // the size on screen, device pixels
    // The last error shown in a dialog ("" if none), for tests and scripts.
    QString lastError() const;

    // The Help window's text (markdown): keys, then every dynamics and measure kind from their declarations.
    static QString helpMarkdown();

public slots:
    void undo();
    void redo();
    void showExportDialog();
    void showSavePictureDialog();
    void showHelp();

protected:
    void keyPressEvent(QKeyEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;
    void closeEvent(QCloseEvent* e) override;

private slots:
    void onRunnerUpdate();
    void onTick();

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
    void buildViews();
    void buildPanelEditors();
    void restart();
    void syncPanels();
    void recordEdit();
    void updateEditState();
    void applyScenario(const Scenario& s);
    CameraState screenCamera() const;
    void showError(const QString& message);
    void addRecent(const QString& path);
    void updateRecentMenu();
    void refreshViews(bool force = false);
};

}  // namespace tl::ui
