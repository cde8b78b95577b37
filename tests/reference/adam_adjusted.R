# Reference values for the engine's adjusted and stratified analyses of the CDISC pilot's
# responder endpoint (tests/test_reanalysis_adjusted.py).
#
# Run from the repository root:  Rscript tests/reference/adam_adjusted.R   (a few seconds)
# Reads ../shared/data/cdiscpilot01/adsl.xpt and adlb.xpt with haven (independent of the
# Python readers) and writes tests/fixtures/adam_adjusted_from_r.py (stamped, DO NOT EDIT).
#
# Endpoint (data/cdiscpilot01/design.toml, "chol_responder"), spelled out here independently of
# the Python code: safety population (ADSL SAFFL == "Y"), arm = TRT01P; ADLB PARAMCD ==
# "CHOLES", ANL01FL == "Y", DTYPE blank, AVISITN == 12 (Week 24); PCHG (100 CHG / BASE where
# PCHG is blank and BASE is not 0); responder = PCHG <= -10; patients without a Week-24 value
# left out. Covariates: BASE_CHOLES = AVAL of the baseline record (ABLFL == "Y", DTYPE blank)
# and AGE (ADSL); strata: SITEID (ADSL).
# For each xanomeline arm vs Placebo, on the patients of the two arms:
# 1. glm(resp ~ arm + BASE_CHOLES + AGE, binomial); g-computation of the RD, RR and OR with
#    the Ye, Shao, Yi & Zhao (2023) robust variance (simple randomisation; the formulas of
#    tests/reference/adjusted.R).
# 1b. The same with the strata in the working model (Ye et al. 2023; FDA 2023 guidance):
#    glm(resp ~ arm + BASE_CHOLES + AGE + factor(stratum), binomial), stratum = SITEID with
#    the sparse sites pooled by the rule of trial_analysis.binary.pool_sparse_strata, written
#    here from its description: a site with fewer than 2 patients of either arm, or whose
#    outcome does not vary, joins one site "pooled"; while "pooled" is itself sparse, the
#    smallest other site (fewest patients, then first in sorted order) joins it. Same
#    g-computation and Ye variance (simple-randomisation form); and resp ~ arm +
#    factor(stratum) alone.
# 2. mantelhaen.test over SITEID with and without continuity correction, and the MH risk
#    difference with the Sato variance (metafor::rma.mh, measure = "RD"); strata without a
#    patient of one of the two arms carry no information (weight 0) and are left out, as
#    mantelhaen.test requires.

suppressPackageStartupMessages({
  library(haven)
  library(metafor)
})
num <- function(x) format(x, digits = 16)
vec <- function(v) paste0("[", paste(num(v), collapse = ", "), "]")
lines <- character()
add <- function(...) lines <<- c(lines, paste0(...))

adsl <- read_xpt("../shared/data/cdiscpilot01/adsl.xpt")
adlb <- read_xpt("../shared/data/cdiscpilot01/adlb.xpt")
saf <- adsl[adsl$SAFFL == "Y", c("USUBJID", "TRT01P", "AGE", "SITEID")]
ch <- adlb[adlb$PARAMCD == "CHOLES", ]
blank <- function(x) is.na(x) | x == ""
base <- ch[ch$ABLFL == "Y" & blank(ch$DTYPE), ]
base <- base[!duplicated(base$USUBJID), c("USUBJID", "AVAL")]
names(base)[2] <- "BASE_CHOLES"
w24 <- ch[ch$ANL01FL == "Y" & blank(ch$DTYPE) & ch$AVISITN == 12, ]
stopifnot(!anyDuplicated(w24$USUBJID))
pchg <- ifelse(is.na(w24$PCHG) & !is.na(w24$BASE) & w24$BASE != 0,
               100 * w24$CHG / w24$BASE, w24$PCHG)
w24 <- data.frame(USUBJID = w24$USUBJID, resp = as.integer(pchg <= -10))
d <- merge(merge(saf, w24, by = "USUBJID"), base, by = "USUBJID", all.x = TRUE)
d <- d[!is.na(d$resp), ]
add("CHOL_RESPONDER = dict(  # Week-24 cholesterol reduced by >= 10 %, safety population")
add("    counts={", paste0('"', names(table(d$TRT01P)), '": ', sapply(split(d$resp, d$TRT01P), sum),
                        collapse = ", "), "},")
add("    n={", paste0('"', names(table(d$TRT01P)), '": ', as.integer(table(d$TRT01P)),
                   collapse = ", "), "},")

pool_sparse <- function(site, a, y, m = 2) {
  s <- as.character(site)
  levs <- sort(unique(s))
  size <- table(s)
  sparse <- function(members) {
    k <- s %in% members
    sum(k & a == 0) < m || sum(k & a == 1) < m || length(unique(y[k])) < 2
  }
  pooled <- levs[vapply(levs, sparse, logical(1))]
  while (length(pooled) > 0 && sparse(pooled) && length(pooled) < length(levs)) {
    rest <- setdiff(levs, pooled)
    pooled <- c(pooled, rest[which.min(as.integer(size[rest]))])  # first of ties: sorted order
  }
  list(stratum = ifelse(s %in% pooled, "pooled", s), pooled = sort(pooled))
}

gcomp_ye <- function(dd, f = resp ~ a + BASE_CHOLES + AGE) {
  fit <- glm(f, family = binomial, data = dd, control = glm.control(epsilon = 1e-14, maxit = 100))
  d1 <- dd; d1$a <- 1; d0 <- dd; d0$a <- 0
  p1 <- predict(fit, d1, type = "response"); p0 <- predict(fit, d0, type = "response")
  th <- c(mean(p0), mean(p1))
  y <- dd$resp; a <- dd$a; N <- nrow(dd); pi <- c(mean(a == 0), mean(a == 1)); P <- cbind(p0, p1)
  V <- matrix(0, 2, 2)
  for (i in 1:2) for (j in 1:2) {
    in_i <- a == i - 1; in_j <- a == j - 1
    V[i, j] <- if (i == j) {
      var(y[in_i] - P[in_i, i]) / pi[i] + 2 * cov(y[in_i], P[in_i, i]) - var(P[, i])
    } else {
      cov(y[in_i], P[in_i, j]) + cov(y[in_j], P[in_j, i]) - cov(P[, i], P[, j])
    }
  }
  V <- V / N
  t0 <- th[1]; t1 <- th[2]
  grads <- list(c(-1, 1), c(-1 / t0, 1 / t1), c(-1 / (t0 * (1 - t0)), 1 / (t1 * (1 - t1))))
  est <- c(t1 - t0, t1 / t0, (t1 / (1 - t1)) / (t0 / (1 - t0)))
  se <- sapply(grads, function(g) sqrt(drop(t(g) %*% V %*% g)))
  centre <- c(est[1], log(est[2:3]))
  z <- qnorm(0.975)
  lo <- centre - z * se; hi <- centre + z * se
  lo[2:3] <- exp(lo[2:3]); hi[2:3] <- exp(hi[2:3])
  list(est = est, se = se, lo = lo, hi = hi, p = 2 * pnorm(-abs(centre / se)))
}

for (arm in c("Xanomeline Low Dose", "Xanomeline High Dose")) {
  dd <- d[d$TRT01P %in% c(arm, "Placebo"), ]
  dd$a <- as.integer(dd$TRT01P == arm)
  cc <- dd[!is.na(dd$BASE_CHOLES) & !is.na(dd$AGE), ]
  g <- gcomp_ye(cc)
  ps <- pool_sparse(cc$SITEID, cc$a, cc$resp)
  cc$stratum <- factor(ps$stratum)
  gs <- gcomp_ye(cc, resp ~ a + BASE_CHOLES + AGE + stratum)
  g0 <- gcomp_ye(cc, resp ~ a + stratum)  # strata alone (an endpoint declaring no covariates)
  sites <- sort(unique(dd$SITEID))
  both <- sites[sapply(sites, function(s) all(c(0, 1) %in% dd$a[dd$SITEID == s]))]
  arr <- array(0, c(2, 2, length(both)))
  for (k in seq_along(both)) {
    e <- dd[dd$SITEID == both[k], ]
    arr[, , k] <- matrix(c(sum(e$resp[e$a == 1]), sum(e$resp[e$a == 0]),
                           sum(1 - e$resp[e$a == 1]), sum(1 - e$resp[e$a == 0])), 2)
  }
  mh <- mantelhaen.test(arr, correct = FALSE); mhc <- mantelhaen.test(arr, correct = TRUE)
  rd <- suppressWarnings(  # strata with 0 or all responders: NA log-scale yi, not used for RD
    rma.mh(ai = arr[1, 1, ], bi = arr[1, 2, ], ci = arr[2, 1, ], di = arr[2, 2, ], measure = "RD"))
  add('    ', if (grepl("Low", arm)) "low" else "high", '=dict(  # ', arm, ' vs Placebo')
  add("        gcomp_estimate=", vec(g$est), ",  # rd, rr, or")
  add("        gcomp_se=", vec(g$se), ",  # rd, log rr, log or")
  add("        gcomp_ci_low=", vec(g$lo), ", gcomp_ci_high=", vec(g$hi), ",")
  add("        gcomp_p=", vec(g$p), ",")
  add("        strata_estimate=", vec(gs$est), ",  # rd, rr, or; + factor(stratum)")
  add("        strata_se=", vec(gs$se), ",  # rd, log rr, log or")
  add("        strata_ci_low=", vec(gs$lo), ", strata_ci_high=", vec(gs$hi), ",")
  add("        strata_p=", vec(gs$p), ",")
  add("        strata_only_estimate=", vec(g0$est), ", strata_only_se=", vec(g0$se), ",")
  add("        strata_only_p=", vec(g0$p), ",  # resp ~ a + factor(stratum)")
  add("        pooled=[", paste0('"', ps$pooled, '"', collapse = ", "), "], n_model_strata=",
      nlevels(cc$stratum), ",")
  add("        n_strata=", length(both), ", n_sites=", length(sites), ",")
  add("        cmh=", num(mh$statistic), ", cmh_p=", num(mh$p.value), ",")
  add("        cmh_cc=", num(mhc$statistic), ", cmh_cc_p=", num(mhc$p.value), ",")
  add("        rd_mh=", num(rd$beta), ", rd_mh_ci=", vec(c(rd$ci.lb, rd$ci.ub)),
      ", rd_mh_p=", num(rd$pval), ",")
  add("    ),")
}
add(")")
add("")
header <- c(
  paste0('"""Generated by tests/reference/adam_adjusted.R on ', format(Sys.Date()), " with ",
         R.version.string, " (haven ", packageVersion("haven"), ", metafor ",
         packageVersion("metafor"), ")."),
  "",
  "DO NOT EDIT. Data: the CDISC pilot ADaM (../shared/data/cdiscpilot01/adsl.xpt, adlb.xpt).",
  '"""',
  "")
writeLines(c(header, lines), "tests/fixtures/adam_adjusted_from_r.py")
cat("wrote tests/fixtures/adam_adjusted_from_r.py\n")
