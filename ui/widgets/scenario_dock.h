// ScenarioDock: the compare window's "Scenario" dock — the scenario's name and description, the source
// and target measure pickers, frames and duration, one editor per panel (dynamics, title, a ParamForm
// generated from the dynamics' declarations, remove) and "Add panel". It shows what the window tells
// it and reports the user's edits as signals; the window owns the scenario (GUI thread only).
#pragma once
#include <QDockWidget>
#include <vector>

#include "engine/params.h"
#include "engine/scenario.h"

class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QVBoxLayout;

namespace tl::ui {

class MeasurePicker;
class ParamForm;

class ScenarioDock : public QDockWidget {
    Q_OBJECT
public:
    explicit ScenarioDock(QWidget* parent = nullptr);

    // The name, description, measures, frames and duration of `s` (emits nothing).
    void showScenario(const Scenario& s);
    // Rebuilds the panel editors for `s`'s panels.
    void showPanels(const Scenario& s);
    void setCanAddPanel(bool can);
    // Panel k's form shows `values` / its title field shows `title` (emit nothing).
    void showPanelParams(int panel, const ParamValues& values);
    void showPanelTitle(int panel, const QString& title);

    MeasurePicker* sourcePicker() const { return sourcePicker_; }
    MeasurePicker* targetPicker() const { return targetPicker_; }
    ParamForm* panelForm(int panel) const;

signals:
    void sourceEdited(const QString& spec);
    void targetEdited(const QString& spec);
    void framesEdited(int frames);
    void durationEdited(double duration);
    void addPanelClicked();
    void panelDynamicsEdited(int panel, const QString& dynamics);
    void panelRemoveClicked(int panel);
    void panelParamsEdited(int panel, const tl::ParamValues& values);
    void panelTitleEdited(int panel, const QString& title);

private:
    void retireEditors();
    struct PanelEditor {
        QGroupBox* box = nullptr;
        QLineEdit* title = nullptr;
        QComboBox* dynamics = nullptr;
        ParamForm* form = nullptr;
    };
    MeasurePicker *sourcePicker_ = nullptr, *targetPicker_ = nullptr;
    QSpinBox* frames_ = nullptr;
    QLabel* about_ = nullptr;  // the scenario's name and description, atop the dock
    QDoubleSpinBox* duration_ = nullptr;
    QWidget* editorsHost_ = nullptr;
    QVBoxLayout* editorsLayout_ = nullptr;
    std::vector<PanelEditor> editors_;
    QPushButton* addPanel_ = nullptr;
};

}  // namespace tl::ui
