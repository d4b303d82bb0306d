// bench/common/networks.hpp — the convolution layers of VGG16, ResNet-18, MobileNetV1 and
// MobileNetV2, as the benchmarks run them (CPU and GPU).
//
// Each table holds every conv layer of the published architecture (fully connected layers are not
// convolutions and are left out) at the reference input of 224×224, in network order. Layers of
// identical shape that follow each other in the same stage are listed once with a repeat count,
// so Σ repeat × MACs is the network's conv cost:
//
//   network      conv layers   conv MACs at 224   conv weights   source
//   VGG16        13            15.35 G            14.71 M        Simonyan & Zisserman 2015, config
//   D ResNet-18    20            1.81 G             11.17 M        He et al. 2016 (torchvision: 1x1
//                                                                 stride-2 projection shortcuts)
//   MobileNetV1  27            567.7 M            3.19 M         Howard et al. 2017, Table 1 (the
//                                                                 last depthwise layer has stride
//                                                                 1)
//   MobileNetV2  52            299.5 M            2.19 M         Sandler et al. 2018, Table 2
//
// (no biases counted; the papers' totals, 15.5 G / 1.8 G / 569 M / 300 M, add the classifier.)
//
//     for (const auto& l : stco_bench::at_resolution(stco_bench::resnet18(), 56).layers)
//       run(l.name, l.cout, l.gemm_k(), batch * l.out_hw() * l.out_hw(), l.repeat);
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace stco_bench {

/// One convolution: square kernel, same stride and padding in h and w, input [in_hw, in_hw, cin].
struct conv_layer {
  std::string name;
  int cin, cout;
  int kernel, stride, pad;
  int groups;      // 1, or cin (= cout) for a depthwise layer
  int in_hw;       // input height = width
  int repeat = 1;  // identical layers in a row
  bool depthwise = false;

  int out_hw() const { return (in_hw + 2 * pad - kernel) / stride + 1; }
  /// The weight as a GEMM operand [cout, gemm_k()], K in (kh, kw, c) order.
  int gemm_k() const { return kernel * kernel * (cin / groups); }
  /// Multiply-adds of one layer for one image.
  std::int64_t macs() const {
    return static_cast<std::int64_t>(cout) * gemm_k() * out_hw() * out_hw();
  }
  std::int64_t weights() const { return static_cast<std::int64_t>(cout) * gemm_k(); }
  /// Same shape (name and repeat count aside).
  bool same_shape(const conv_layer& o) const {
    return cin == o.cin && cout == o.cout && kernel == o.kernel && stride == o.stride &&
           pad == o.pad && groups == o.groups && in_hw == o.in_hw;
  }
};

/// How a network's downsampling rounds odd sizes: VGG's 2×2 max pools floor; ResNet's and the
/// MobileNets' stride-2 3×3 convolutions and pools with padding 1 give ceil(in / 2).
enum class rounding { floor, ceil };

struct network {
  std::string name;
  int resolution;  // input height = width the table's in_hw refer to
  rounding round;
  std::vector<conv_layer> layers;

  std::int64_t macs() const {
    std::int64_t s = 0;
    for (const auto& l : layers) s += l.repeat * l.macs();
    return s;
  }
  std::int64_t weights() const {
    std::int64_t s = 0;
    for (const auto& l : layers) s += l.repeat * l.weights();
    return s;
  }
  int layer_count() const {
    int s = 0;
    for (const auto& l : layers) s += l.repeat;
    return s;
  }
};

namespace detail {
inline conv_layer conv(std::string name, int cin, int cout, int k, int stride, int pad, int in_hw,
                       int repeat = 1) {
  return {std::move(name), cin, cout, k, stride, pad, 1, in_hw, repeat, false};
}
inline conv_layer dw(std::string name, int c, int stride, int in_hw, int repeat = 1) {
  return {std::move(name), c, c, 3, stride, 1, c, in_hw, repeat, true};
}
}  // namespace detail

/// VGG16 (configuration D): 13 3×3 convolutions, padding 1, 2×2 max pools between stages.
inline const network& vgg16() {
  using detail::conv;
  static const network n{
      "vgg16",
      224,
      rounding::floor,
      {
          conv("conv1_1", 3, 64, 3, 1, 1, 224), conv("conv1_2", 64, 64, 3, 1, 1, 224),
          conv("conv2_1", 64, 128, 3, 1, 1, 112), conv("conv2_2", 128, 128, 3, 1, 1, 112),
          conv("conv3_1", 128, 256, 3, 1, 1, 56),
          conv("conv3_2", 256, 256, 3, 1, 1, 56, 2),  // conv3_2, conv3_3
          conv("conv4_1", 256, 512, 3, 1, 1, 28),
          conv("conv4_2", 512, 512, 3, 1, 1, 28, 2),  // conv4_2, conv4_3
          conv("conv5_1", 512, 512, 3, 1, 1, 14, 3),  // conv5_1 .. conv5_3
      }};
  return n;
}

/// ResNet-18: 7×7 stride-2 stem, 3×3 stride-2 max pool, four stages of two basic blocks; the
/// first block of stages 2–4 halves the size with a stride-2 3×3 and a 1×1 stride-2 shortcut.
inline const network& resnet18() {
  using detail::conv;
  static const network n{"resnet18",
                         224,
                         rounding::ceil,
                         {
                             conv("conv1", 3, 64, 7, 2, 3, 224),
                             conv("layer1.conv", 64, 64, 3, 1, 1, 56, 4),  // 2 blocks × 2
                             conv("layer2.0.conv1", 64, 128, 3, 2, 1, 56),
                             conv("layer2.conv", 128, 128, 3, 1, 1, 28, 3),  // 0.conv2, 1.conv1/2
                             conv("layer2.0.downsample", 64, 128, 1, 2, 0, 56),
                             conv("layer3.0.conv1", 128, 256, 3, 2, 1, 28),
                             conv("layer3.conv", 256, 256, 3, 1, 1, 14, 3),
                             conv("layer3.0.downsample", 128, 256, 1, 2, 0, 28),
                             conv("layer4.0.conv1", 256, 512, 3, 2, 1, 14),
                             conv("layer4.conv", 512, 512, 3, 1, 1, 7, 3),
                             conv("layer4.0.downsample", 256, 512, 1, 2, 0, 14),
                         }};
  return n;
}

/// MobileNetV1 (width 1.0): a 3×3 stride-2 stem, then 13 depthwise-separable pairs (3×3
/// depthwise, 1×1 pointwise). Table 1 of the paper prints stride 2 for the last depthwise layer;
/// its 7×7 output and every implementation say stride 1.
inline const network& mobilenet_v1() {
  using detail::conv;
  using detail::dw;
  static const network n{"mobilenet_v1",
                         224,
                         rounding::ceil,
                         {
                             conv("conv0", 3, 32, 3, 2, 1, 224),
                             dw("dw1", 32, 1, 112),
                             conv("pw1", 32, 64, 1, 1, 0, 112),
                             dw("dw2", 64, 2, 112),
                             conv("pw2", 64, 128, 1, 1, 0, 56),
                             dw("dw3", 128, 1, 56),
                             conv("pw3", 128, 128, 1, 1, 0, 56),
                             dw("dw4", 128, 2, 56),
                             conv("pw4", 128, 256, 1, 1, 0, 28),
                             dw("dw5", 256, 1, 28),
                             conv("pw5", 256, 256, 1, 1, 0, 28),
                             dw("dw6", 256, 2, 28),
                             conv("pw6", 256, 512, 1, 1, 0, 14),
                             dw("dw7-11", 512, 1, 14, 5),  // five identical pairs
                             conv("pw7-11", 512, 512, 1, 1, 0, 14, 5),
                             dw("dw12", 512, 2, 14),
                             conv("pw12", 512, 1024, 1, 1, 0, 7),
                             dw("dw13", 1024, 1, 7),
                             conv("pw13", 1024, 1024, 1, 1, 0, 7),
                         }};
  return n;
}

/// MobileNetV2 (width 1.0): a 3×3 stride-2 stem, 17 inverted residual blocks (1×1 expansion by
/// t, 3×3 depthwise with the stage's stride on the first block, 1×1 linear projection; the first
/// block has t = 1 and no expansion), and a final 1×1 to 1280 channels. Identical blocks of a
/// stage are listed once with their count.
inline const network& mobilenet_v2() {
  using detail::conv;
  using detail::dw;
  static const network n = [] {
    network net{"mobilenet_v2", 224, rounding::ceil, {conv("conv0", 3, 32, 3, 2, 1, 224)}};
    struct stage {
      int t, c, n, s;
    };
    // Table 2 of the paper: expansion t, output channels c, blocks n, first stride s.
    const stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int cin = 32, hw = 112, block = 1;
    for (const stage& st : stages) {
      for (int part = 0; part < 2 && part < st.n; ++part) {
        // part 0: the first block (stride s, cin -> c); part 1: the n - 1 identical blocks after
        // it.
        const int stride = part == 0 ? st.s : 1, reps = part == 0 ? 1 : st.n - 1;
        const int in_c = part == 0 ? cin : st.c, hidden = in_c * st.t;
        const std::string id =
            "block" + (reps == 1 ? std::to_string(block)
                                 : std::to_string(block) + "-" + std::to_string(block + reps - 1));
        if (st.t != 1) net.layers.push_back(conv(id + ".expand", in_c, hidden, 1, 1, 0, hw, reps));
        net.layers.push_back(dw(id + ".dw", hidden, stride, hw, reps));
        hw = (hw + 2 - 3) / stride + 1;
        net.layers.push_back(conv(id + ".project", hidden, st.c, 1, 1, 0, hw, reps));
        block += reps;
      }
      cin = st.c;
    }
    net.layers.push_back(conv("conv_last", 320, 1280, 1, 1, 0, hw));
    return net;
  }();
  return n;
}

/// The four networks, in the order the tables list them.
inline std::vector<const network*> all_networks() {
  return {&vgg16(), &resnet18(), &mobilenet_v1(), &mobilenet_v2()};
}

/// The network at another input resolution (e.g. 32 or 56 for a CPU-sized run): each layer's
/// input becomes resolution / f, with f = the table's reference resolution / in_hw (a power of
/// two) and the network's rounding, which is what running the downsampling chain on that input
/// gives. Layers whose output would vanish are an error.
inline network at_resolution(const network& net, int resolution) {
  if (resolution < 1)
    throw std::invalid_argument("stco_bench::at_resolution: resolution " +
                                std::to_string(resolution) + " < 1");
  network out = net;
  out.resolution = resolution;
  for (auto& l : out.layers) {
    const int f = net.resolution / l.in_hw;
    if (f * l.in_hw != net.resolution || (f & (f - 1)) != 0)
      throw std::logic_error("stco_bench::at_resolution: " + net.name + "." + l.name + ": input " +
                             std::to_string(l.in_hw) + " is not the reference " +
                             std::to_string(net.resolution) + " over a power of two");
    l.in_hw = net.round == rounding::floor ? resolution / f : (resolution + f - 1) / f;
    if (l.in_hw < 1 || l.out_hw() < 1)
      throw std::invalid_argument("stco_bench::at_resolution: " + net.name + "." + l.name +
                                  " has no output at input " + std::to_string(resolution));
  }
  return out;
}

/// The layers of distinct shape, in first-appearance order, repeats summed.
inline std::vector<conv_layer> distinct_layers(const network& net) {
  std::vector<conv_layer> out;
  for (const auto& l : net.layers) {
    bool merged = false;
    for (auto& o : out)
      if (o.same_shape(l)) {
        o.repeat += l.repeat;
        merged = true;
        break;
      }
    if (!merged) out.push_back(l);
  }
  return out;
}

}  // namespace stco_bench
