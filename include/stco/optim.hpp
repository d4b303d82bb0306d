// stco/optim.hpp — module header: optimizers on compressed values (sgd, adam, adamw) and the mask
// update that re-prunes a weight together with its optimizer state.
#pragma once

#include "stco/layouts.hpp"
#include "stco/optim/adam.hpp"
#include "stco/optim/mask_update.hpp"
#include "stco/optim/remap.hpp"
#include "stco/optim/sgd.hpp"
