#include <criterion/criterion.h>
#include "helpers.h"
