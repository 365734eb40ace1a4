#include "emu/cli/cpu_option.h"

#include <sstream>

#include "emu/cli/options.h"
#include "emu/cpu_features.h"
#include "svm/features.h"
#include "vmx/capabilities.h"

namespace softvt {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string feature_names() {
  std::vector<std::string> names;
  for (const CpuFeatureInfo& f : cpu_feature_table()) names.push_back(f.name);
  for (const vmx::VmxFeatureInfo& f : vmx::vmx_feature_table()) names.push_back(f.name);
  return joined(names);
}

// A VMX capability ("vmx-ept", ...): only a model with VMX has them
// (IA32_VMX_* MSRs are Intel's).
void apply_vmx_switch(CpuModel& m, const vmx::VmxFeatureInfo& f, bool on) {
  if (!m.intel())
    throw UsageError("--cpu: '" + std::string(f.name) + "': the " + m.name + " model has no VMX");
  vmx::set_vmx_feature(m.vmx, f, on);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.push_back("");
  return parts;
}

// One "+feat", "-feat", "feat=on|off" (QEMU also accepts "feat" alone as on).
void apply_switch(CpuModel& m, const std::string& item) {
  if (item.empty()) throw UsageError("--cpu: empty feature switch (two commas or a trailing comma)");
  std::string name = item;
  bool on = true;
  if (item[0] == '+' || item[0] == '-') {
    on = item[0] == '+';
    name = item.substr(1);
  } else if (const size_t eq = item.find('='); eq != std::string::npos) {
    name = item.substr(0, eq);
    const std::string v = item.substr(eq + 1);
    if (v == "on" || v == "true") on = true;
    else if (v == "off" || v == "false") on = false;
    else throw UsageError("--cpu: '" + item + "': expected " + name + "=on or " + name + "=off");
  }
  if (const vmx::VmxFeatureInfo* v = vmx::find_vmx_feature(name)) return apply_vmx_switch(m, *v, on);
  const CpuFeatureInfo* f = find_cpu_feature(name);
  // VMX is Intel's: an AMD model cannot report it (its MSRs would be missing).
  if (f && on && !m.intel() && std::string(f->name) == "vmx")
    throw UsageError("--cpu: '" + item + "': the " + m.name + " model has no VMX (it is Intel's)");
  // SVM is AMD's: an Intel model cannot report it (nor leaf 8000000AH).
  if (f && on && !m.amd() && svm::is_svm_feature(f->name))
    throw UsageError("--cpu: '" + item + "': the " + m.name + " model has no SVM (it is AMD's)");
  if (!f)
    throw UsageError("--cpu: unknown feature '" + name + "' (known features: " + feature_names() + ")");
  set_model_feature(m, *f, on);
}

}  // namespace

CpuModel parse_cpu_option(const std::string& text) {
  const std::vector<std::string> parts = split(text, ',');
  const std::string model_name = parts.empty() ? "" : parts[0];
  const CpuModel* base = find_cpu_model(model_name);
  if (!base)
    throw UsageError("--cpu: unknown CPU model '" + model_name + "' (models: " + joined(cpu_model_names()) + ")");
  CpuModel m = *base;
  for (size_t i = 1; i < parts.size(); ++i) apply_switch(m, parts[i]);
  vmx::drop_controls_of_absent_features(m);
  svm::drop_svm_leaf_if_absent(m);
  return m;
}

}  // namespace softvt
