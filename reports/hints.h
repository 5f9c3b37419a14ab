// Likely causes of a difference between a predicted and a measured run, read off the residuals.
// Each rule states the figures it fired on; the thresholds are below so a reader can check them.
//
//   compute everywhere  every rank's compute is >= 10 % off, all the same way, spread <= 10 points
//                       (or half the median error): the device preset's figures.
//   one rank slow       a rank's measured/predicted compute ratio exceeds 1.2x the median ratio of
//                       the others (and 1.1): a straggler or a slower device (a Pi in the ring).
//   one route off       of two or more routes (collective groups, send pairs), the worst is >= 25 %
//                       off and every other within max(10 %, a third of it): that route's links;
//                       or several routes >= 25 % off and the rest within 10 %: the links every
//                       off route crosses and no right one does.
//   small vs large      messages < 256 KiB >= 25 % off while those >= 4 MiB are within 10 %:
//                       the per-message overhead, not the bandwidth.
//   wrong interface     a collective measured at <= 1.5x the control network's bandwidth (Wi-Fi)
//                       where >= 3x it was predicted, or the coordinator's clock ping-pong to a
//                       rank (clocks.json) >= half the control network's round trip and >= 4x the
//                       data route's: traffic left the data cables.
//   communication off   none of the above explains communication >= 25 % off: the link figures.
#pragma once

#include <vector>

#include "reports/analysis.h"
#include "reports/compare.h"

namespace clustertwin::reports {

inline constexpr double kSmallMessage = 256 * 1024;       // bytes: below is "small"
inline constexpr double kLargeMessage = 4 * 1024 * 1024;  // bytes: at or above is "large"

std::vector<Hint> likely_causes(const RunStats& predicted, const RunStats& measured);

}  // namespace clustertwin::reports
